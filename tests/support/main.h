/* Test support: the main() every suite shares. CK_RUN_CASE (set by CTest for
 * the long cases) selects one TCase. */
#ifndef FP8_TEST_MAIN_H
#define FP8_TEST_MAIN_H

#include <check.h>
#include <stdlib.h>

#define FP8_TEST_MAIN(suite_fn)                                  \
    int main(void)                                               \
    {                                                            \
        SRunner *runner = srunner_create(suite_fn());            \
        srunner_run_all(runner, CK_NORMAL);                      \
        const int failed = srunner_ntests_failed(runner);        \
        srunner_free(runner);                                    \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;        \
    }

#endif
