# CSV as the tools write it (RFC 4180: fields quoted when they hold a comma or
# a quote, quotes doubled; no line breaks inside fields, no CR), read strictly.
# Prepended to the awk programs of tests/cli/lib.sh.

# Splits one record into field[1..n]; returns n, or -1 when it is malformed:
# an unterminated quote, text after a closing quote, a bare quote or a CR.
function csv_split(line, field,    n, i, c, len, value) {
    n = 0
    len = length(line)
    i = 1
    for (;;) {
        value = ""
        if (substr(line, i, 1) == "\"") {
            for (i++; ; i++) {
                if (i > len) return -1
                c = substr(line, i, 1)
                if (c == "\"") {
                    if (substr(line, i + 1, 1) != "\"") break
                    i++
                }
                value = value c
            }
            i++
            if (i <= len && substr(line, i, 1) != ",") return -1
        } else {
            for (; i <= len && (c = substr(line, i, 1)) != ","; i++) {
                if (c == "\"" || c == "\r") return -1
                value = value c
            }
        }
        field[++n] = value
        if (i > len) return n
        i++
    }
}
