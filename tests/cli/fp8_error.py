#!/usr/bin/env python3
"""fp8-error as its users meet it: exit statuses and one-line reasons, CSV and
JSON read back by Python's strict parsers, golden figures on seeded data,
files of each kind (written here with struct, no numpy needed), DeepSeek-V3
FP8 weights, reproducible output and a quiet stderr when it is not a
terminal.

Usage: fp8_error.py PATH/TO/fp8-error"""
import csv
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, env={**os.environ, "LC_ALL": "de_DE.UTF-8"})
    return p.returncode, p.stdout, p.stderr


def npy(path, values, descr="<f4", shape=None, fortran=False, version=1):
    fmt = {"f4": "f", "f8": "d", "f2": "e"}[descr[1:]]
    data = struct.pack(descr[0] + fmt * len(values), *values)
    shape = shape or (len(values),)
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, dims)
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H" if version == 1 else "<I", len(header))
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + data)


def safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset, blob = {"__metadata__": {"format": "pt"}}, 0, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blob += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob)


def strict_json(text):
    def no_constants(name):
        raise ValueError("non-standard JSON constant " + name)
    return json.loads(text, parse_constant=no_constants)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, strict=True))
    check(len(rows) >= 2, f"{path}: a header and rows")
    check(all(len(r) == len(rows[0]) for r in rows), f"{path}: every row has {len(rows[0])} fields")
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def bf16_bytes(values):
    """BF16 by truncation: the top half of each FP32."""
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def bf16_value(v):
    return struct.unpack("<f", b"\0\0" + struct.pack("<f", v)[2:])[0]


with tempfile.TemporaryDirectory() as tmp:
    p = lambda name: os.path.join(tmp, name)

    # ---- usage: exit 0 for --help / --version, 2 for bad usage with a reason and a pointer to --help
    code, out, err = run("--help")
    check(code == 0 and "Usage: fp8-error" in out and err == "", "--help")
    code, out, _ = run("--version")
    check(code == 0 and out.startswith("fp8-error (libfp8) "), "--version")
    for args in ([], ["--bogus"], ["--format", "e9m9", "--synthetic", "gaussian"],
                 ["--scaling", "1x", "--synthetic", "gaussian"], ["--scaling", "row,,tensor", "--synthetic", "gaussian"],
                 ["--scale-mode", "fast", "--synthetic", "gaussian"], ["--synthetic", "cauchy"],
                 ["--rows", "0", "--synthetic", "gaussian"], ["--seed", "x", "--synthetic", "gaussian"],
                 ["--dtype", "f32", "x.bin"], ["--shape", "2x2", "x.bin"], ["--dtype", "i32", "--shape", "2", "x.bin"],
                 ["--shape", "2xx2", "--dtype", "f32", "x.bin"], ["--saturation", "clamp", "--synthetic", "gaussian"],
                 ["--csv", "-", "--json", "-", "--synthetic", "gaussian"], ["--synthetic"]):
        code, out, err = run(*args)
        lines = err.splitlines()
        check(code == 2 and out == "" and len(lines) == 2 and lines[0].startswith("fp8-error: ")
              and lines[1] == "Try 'fp8-error --help'.", f"usage error for {args}: exit {code}, stderr {err!r}")

    # ---- bad input: exit 1, exactly one line naming the file and the reason
    npy(p("trunc.npy"), [1.0, 2.0, 3.0])
    with open(p("trunc.npy"), "r+b") as f:
        f.truncate(os.path.getsize(p("trunc.npy")) - 1)
    with open(p("raw.bin"), "wb") as f:
        f.write(b"\0" * 10)
    with open(p("notjson.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 5) + b"{oops")
    safetensors(p("ints.safetensors"), [("ids", "I64", [2], b"\0" * 16)])
    safetensors(p("ok.safetensors"), [("w", "F32", [2], struct.pack("<2f", 1, 2))])
    for args, reason in ((["missing.npy"], "cannot open"), ([p("trunc.npy")], "needs 12 bytes of data"),
                         (["--dtype", "f32", "--shape", "3", p("raw.bin")], "needs 12 bytes of f32, the file holds 10"),
                         ([p("raw.bin")], "give --dtype and --shape"),
                         ([p("notjson.safetensors")], "safetensors header"),
                         ([p("ints.safetensors")], "no floating-point tensor"),
                         (["--tensor", "nope*", p("ok.safetensors")], "--tensor 'nope*' matches no tensor"),
                         ([tmp], "not a regular file")):
        code, out, err = run(*args)
        check(code == 1 and out == "" and len(err.splitlines()) == 1 and reason in err and err.startswith("fp8-error: "),
              f"bad input {args}: exit {code}, stderr {err!r}")

    # ---- golden figures on seeded N(0, 1), through the tool (floors a little under the expected values)
    code, out, err = run("--synthetic", "gaussian", "--rows", "1024", "--cols", "1024", "--scaling", "tensor",
                         "--csv", p("golden.csv"), "--quiet")
    check(code == 0 and out == "" and err == "", f"golden run: exit {code}, stderr {err!r}")
    rows = {r["format"]: r for r in read_csv(p("golden.csv"))}
    e4m3, e5m2 = float(rows["e4m3"]["sqnr_db"]), float(rows["e5m2"]["sqnr_db"])
    bf16 = float(rows["e4m3"]["bf16_sqnr_db"])
    print(f"golden N(0,1) per tensor: E4M3 {e4m3:.3f} dB, E5M2 {e5m2:.3f} dB, BF16 {bf16:.3f} dB")
    check(31.2 < e4m3 < 31.8, f"E4M3 per-tensor SQNR {e4m3} dB, expected about 31.5")
    check(25.2 < e5m2 < 25.8, f"E5M2 per-tensor SQNR {e5m2} dB, expected about 25.5")
    check(55.0 < bf16 < 56.2, f"BF16 SQNR {bf16} dB, expected about 55.6")
    check(float(rows["e4m3"]["saturation_fraction"]) == 0, "amax scaling saturates nothing")

    # ---- every kind of input in one run; CSV and JSON read back strictly and agree
    vals = [((i * 37) % 101 - 50) / 7.0 for i in range(6 * 256)]
    npy(p("a.npy"), vals, "<f4", (6, 256))
    npy(p("b_fortran_be.npy"), vals, ">f8", (256, 6), fortran=True, version=2)
    npy(p("c_f16.npy"), [v / 64 for v in vals[:300]], "<f2", version=3)
    with open(p("d.raw"), "wb") as f:
        f.write(bf16_bytes(vals))
    # a DeepSeek-V3 FP8 weight: E4M3 codes in 2 x 1 blocks of 128 x 128 (the last one partial), scale_inv per block
    codes = bytes((i * 29 + 3) % 0x7F for i in range(200 * 100))  # 0 .. 0x7E (448): every block reaches 448
    safetensors(p("model.safetensors"), [
        ("layers.0.mlp.weight", "F8_E4M3", [200, 100], codes),
        ("layers.0.mlp.weight_scale_inv", "F32", [2, 1], struct.pack("<2f", 0.5, 0.25)),
        ("layers.0.norm", "BF16", [256], bf16_bytes(vals[:256])),
        ("layers.10.norm", "F16", [4], struct.pack("<4e", 1, 2, 3, 4)),
        ("step", "I64", [1], b"\0" * 8),
    ])
    args = [p("a.npy"), p("b_fortran_be.npy"), p("c_f16.npy"), p("model.safetensors"), "--synthetic", "llm",
            "--rows", "64", "--cols", "512", "--format", "e4m3,e5m2", "--scaling", "tensor,row,1x128,128x128,mx32,3x5",
            "--scale-mode", "default,pow2"]
    code, text, err = run(*args, "--csv", p("all.csv"), "--json", p("all.json"))
    check(code == 0, f"all inputs: exit {code}, stderr {err!r}")
    check("skipping tensor step (I64)" in err, "non-float tensors are skipped with a note")
    check(sum(1 for l in err.splitlines() if "skipping" not in l) == 0, "no progress on stderr when it is no terminal")
    names = ["a.npy", "b_fortran_be.npy", "c_f16.npy", "layers.0.mlp.weight", "layers.0.norm", "layers.10.norm", "llm"]
    recipes = 2 * 6 * 2
    table = read_csv(p("all.csv"))
    check(len(table) == len(names) * recipes, f"{len(table)} CSV rows, expected {len(names) * recipes}")
    check([r["tensor"] for r in table[::recipes]] == [n if "." not in n or n.startswith("layers") else p(n)
                                                       for n in names], "tensors in the order given, natural order")
    with open(p("all.json")) as f:
        doc = strict_json(f.read())
    check(doc["tool"] == "fp8-error" and len(doc["tensors"]) == len(names), "JSON: one object per tensor")
    by_name = {t["name"]: t for t in doc["tensors"]}
    for t in doc["tensors"]:
        check(len(t["fp8"]) == recipes, f"JSON {t['name']}: {recipes} recipes")
        check(sum(c for _, c in t["input"]["log2_histogram"]["bins"]) == t["input"]["nonzero_count"],
              f"JSON {t['name']}: the histogram counts every non-zero value")
    for row in table:
        t = next(t for t in doc["tensors"] if t["name"] == row["tensor"])
        r = next(r for r in t["fp8"] if (r["format"], r["scaling"], r["scale_mode"]) ==
                 (row["format"], row["scaling"], row["scale_mode"]))
        for key in ("sqnr_db", "rel_l2", "calc_diff", "underflow_fraction", "saturation_fraction", "max_rel_err"):
            check(r[key] is None and row[key] in ("inf", "-inf", "nan") or float(row[key]) == r[key],
                  f"{row['tensor']} {row['format']} {row['scaling']}: CSV {key} {row[key]} vs JSON {r[key]}")
    # the same values read from .npy (C and Fortran order, both byte orders), raw BF16: same reference data
    a, b = by_name[p("a.npy")], by_name[p("b_fortran_be.npy")]
    check(a["input"]["amax"] == f32(max(abs(v) for v in vals)) and b["input"]["amax"] == a["input"]["amax"],
          "npy amax")
    check(a["rows"] == 6 and a["cols"] == 256 and b["rows"] == 256 and b["cols"] == 6, "matrix views")
    # the FP8 weight is dequantized; its scale_inv is not a tensor of its own; BF16 of a BF16 tensor is exact
    w = by_name["layers.0.mlp.weight"]
    check(w["dequantized"] and "layers.0.mlp.weight_scale_inv" not in by_name, "DeepSeek weight dequantized")
    check(w["bf16"]["sqnr_db"] is None and w["bf16"]["max_abs_err"] == 0, "BF16 holds the E4M3 weight exactly")
    e4m3_128 = next(r for r in w["fp8"] if (r["format"], r["scaling"], r["scale_mode"]) == ("e4m3", "128x128", "f32"))
    check(e4m3_128["sqnr_db"] is None and e4m3_128["max_abs_err"] == 0,
          "re-quantizing a 128x128-block E4M3 weight with its own recipe is exact")
    check(by_name["layers.0.norm"]["bf16"]["sqnr_db"] is None, "BF16 tensor: BF16 error zero (JSON null)")
    # raw BF16 data: through --dtype/--shape
    code, out, err = run("--dtype", "bf16", "--shape", "6x256", p("d.raw"), "--format", "e4m3", "--scaling", "row",
                         "--json", "-")
    raw = strict_json(out) if code == 0 else {}
    check(code == 0 and raw["tensors"][0]["input"]["amax"] == max(abs(bf16_value(v)) for v in vals), "raw bf16 input")

    # ---- reproducible: the same bytes again, in any locale
    code2, text2, _ = run(*args, "--csv", p("again.csv"), "--json", p("again.json"))
    check(code2 == 0 and text2 == text, "text output reproducible")
    for a_path, b_path in (("all.csv", "again.csv"), ("all.json", "again.json")):
        with open(p(a_path), "rb") as f1, open(p(b_path), "rb") as f2:
            check(f1.read() == f2.read(), f"{a_path} reproducible")
    check("," not in "".join(r["sqnr_db"] for r in table), "numbers in the C locale")

if FAILURES:
    print(f"{len(FAILURES)} of {CHECKS[0]} checks failed")
    sys.exit(1)
print(f"fp8-error: all {CHECKS[0]} checks passed")
