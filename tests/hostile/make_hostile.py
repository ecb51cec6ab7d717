#!/usr/bin/env python3
"""Hostile-input corpus for lsekit (issue 6, part 1).

usage: make_hostile.py WORKDIR

Creates, in WORKDIR, small valid base files (a DRO regression and a DRO classification
dataset, an entropic OT instance, and a result file for each), then one hostile file per case
(truncated and corrupted HDF5, wrong dtypes / ranks / shapes, empty and absurdly large declared
datasets, missing or wrong attributes, NaN/Inf, labels out of range, bad OT weights and
dimensions, hostile result files, config files), and writes WORKDIR/cases.tsv: one command per
line that tests/hostile/run_hostile.sh runs and checks.

cases.tsv columns (tab-separated):
  id        unique name of the check
  codes     accepted exit codes, comma-separated: a subset of {2, 3} for every solve and eval of a
            hostile input; info may also exit 0 on a file that is valid HDF5 (it describes any
            HDF5 file); only the valid_* sanity checks expect 0
  pattern   extended regex that the command's stdout+stderr must match ("" = any)
  out       a file that must not exist afterwards ("-" = none)
  args      the lsekit arguments, separated by single spaces (no file name has a space)

Everything is deterministic (no randomness without a fixed seed) and small (< 1 MB in all).
Files with absurd declared sizes stay tiny: their datasets are chunked and never written, so
only the dataspace claims the size. Also used to seed the fuzzing campaign (bench/fuzz.sh).
"""
import os
import shutil
import sys

import h5py
import numpy as np

WORK = os.path.abspath(sys.argv[1])
os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)

REG_WHAT = r"\(DRO regression dataset\)"
CLS_WHAT = r"\(DRO classification dataset\)"
OT_WHAT = r"\(entropic OT instance\)"
LSE_WHAT = r"\(lsekit dataset\)"

rows = []  # (id, codes, pattern, out, args)


def add(cid, codes, pattern, args, out="-"):
    assert "\t" not in pattern and "\n" not in pattern
    rows.append((cid, codes, pattern or ".", out, args))


def esc(s):
    """Regex-escape a file name or dataset path."""
    out = ""
    for ch in s:
        out += "\\" + ch if ch in ".[]()*+?{}|^$\\" else ch
    return out


# ---- valid base files --------------------------------------------------------------------

rng = np.random.default_rng(12345)
N, P, NT, K = 40, 3, 10, 3
M, D = 5, 2


def write_str_attr(obj, name, value):
    obj.attrs[name] = value  # h5py: variable-length UTF-8, like lsekit's writer


def make_reg(path):
    with h5py.File(path, "w") as f:
        write_str_attr(f, "format", "lsekit-dataset")
        f.attrs["format_version"] = np.int64(1)
        write_str_attr(f, "task", "regression")
        X = rng.normal(size=(N, P))
        f["/train/X"] = X
        f["/train/y"] = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=N)
        f["/train/group"] = (np.arange(N) % 2).astype(np.int64)
        Xt = rng.normal(size=(NT, P))
        f["/test/X"] = Xt
        f["/test/y"] = Xt @ np.array([1.0, -2.0, 0.5])


def make_cls(path):
    with h5py.File(path, "w") as f:
        write_str_attr(f, "format", "lsekit-dataset")
        f.attrs["format_version"] = np.int64(1)
        write_str_attr(f, "task", "classification")
        f.attrs["num_classes"] = np.int64(K)
        f["/train/X"] = rng.normal(size=(N, P))
        y = (np.arange(N) % K).astype(np.int64)
        f["/train/y"] = y
        f["/train/y_clean"] = y.copy()
        f["/test/X"] = rng.normal(size=(NT, P))
        f["/test/y"] = (np.arange(NT) % K).astype(np.int64)


def make_ot(path):
    with h5py.File(path, "w") as f:
        write_str_attr(f, "format", "lsekit-ot")
        f.attrs["format_version"] = np.int64(1)
        f.attrs["epsilon"] = np.float64(0.1)
        write_str_attr(f, "cost", "sqeuclidean")
        f["/source/X"] = rng.normal(size=(30, D))
        f["/source/X_test"] = rng.normal(size=(10, D))
        f["/target/Y"] = rng.normal(size=(M, D))
        f["/target/b"] = np.full(M, 1.0 / M)


def make_result(path, kind):
    with h5py.File(path, "w") as f:
        write_str_attr(f, "format", "lsekit-result")
        f.attrs["format_version"] = np.int64(1)
        f.attrs["l2"] = np.float64(0.0)
        if kind == "reg":
            f.attrs["lambda"] = np.float64(1.0)
            f["/solution/weights"] = np.array([1.0, -2.0, 0.5])
            f["/solution/intercept"] = np.float64(0.0)
        elif kind == "cls":
            f.attrs["lambda"] = np.float64(1.0)
            f["/solution/weights"] = np.zeros((K, P))
            f["/solution/intercept"] = np.zeros(K)
        else:
            f.attrs["epsilon"] = np.float64(0.1)
            f["/solution/potential"] = np.zeros(M)


make_reg("base_reg.h5")
make_cls("base_cls.h5")
make_ot("base_ot.h5")
make_result("base_res_reg.h5", "reg")
make_result("base_res_cls.h5", "cls")
make_result("base_res_ot.h5", "ot")

BASE = {"reg": "base_reg.h5", "cls": "base_cls.h5", "ot": "base_ot.h5"}
RES = {"reg": "base_res_reg.h5", "cls": "base_res_cls.h5", "ot": "base_res_ot.h5"}
WHAT = {"reg": REG_WHAT, "cls": CLS_WHAT, "ot": OT_WHAT}

# Sanity: the base files themselves must be accepted (the runner also solves them).
for kind, base in BASE.items():
    add(f"valid_solve_{kind}", "0", "wrote",
        f"solve {base} --solver erm --epochs 1 --batch 5 --out valid_{kind}.out.h5 -q")
    add(f"valid_eval_{kind}", "0", "objective", f"eval {RES[kind]} {base}")


def variant(kind, name, mutate):
    """Copies the base file of `kind` to `name` and applies mutate(h5py.File)."""
    shutil.copy(BASE[kind], name)
    with h5py.File(name, "r+") as f:
        mutate(f)
    return name


def replace(path, value, **kw):
    def m(f):
        del f[path]
        f.create_dataset(path, data=value, **kw)
    return m


def set_attr(name, value):
    def m(f):
        if name in f.attrs:
            del f.attrs[name]
        f.attrs[name] = value
    return m


def del_attr(name):
    def m(f):
        del f.attrs[name]
    return m


def accepted_case(kind, name, mutate):
    """A dataset/instance as common tools write it (float32, integer, float labels holding
    integers, b normalized in float32): solve and eval must accept it (issue 12)."""
    path = variant(kind, name, mutate)
    out = name.replace(".h5", ".out.h5")
    add(f"accept_solve:{name}", "0", "wrote",
        f"solve {path} --solver erm --epochs 1 --batch 5 --out {out} -q")
    add(f"accept_eval:{name}", "0", "objective", f"eval {RES[kind]} {path}")
    add(f"info:{name}", "0", esc(path), f"info {path}")


def data_case(kind, name, mutate, obj, problem=True, codes="2", info="0,2"):
    """A hostile dataset/instance: solve and eval must fail with `codes`, naming the file,
    `obj` (dataset or attribute, a regex) and the problem (True: the kind's problem, False:
    none, or a regex); info must not crash (`info`: its accepted exit codes)."""
    path = variant(kind, name, mutate) if mutate else name
    what = problem if isinstance(problem, str) else WHAT[kind] if problem else ""
    pat = esc(path) + ".*" + obj + (".*" + what if what else "")
    out = name.replace(".h5", ".out.h5")
    add(f"solve:{name}", codes, pat, f"solve {path} --out {out} -q", out)
    add(f"eval:{name}", codes, pat, f"eval {RES[kind]} {path}")
    add(f"info:{name}", info, esc(path), f"info {path}")


# ---- truncated files ----------------------------------------------------------------------

raw = {k: open(v, "rb").read() for k, v in BASE.items()}
for kind in ("reg", "ot"):
    size = len(raw[kind])
    for cut in (0, 4, 8, 64, 200, 800, 2048, size // 2, size - 8, size - 1):
        name = f"trunc_{kind}_{cut}.h5"
        with open(name, "wb") as fh:
            fh.write(raw[kind][:cut])
        # Not HDF5 at all (no complete signature) or a truncated HDF5 file: I/O error (3).
        data_case(kind, name, None, "", problem=False, codes="3", info="3")

# ---- corrupted files -----------------------------------------------------------------------


def corrupt(kind, name, patches):
    b = bytearray(raw[kind])
    for off, val in patches:
        b[off] = val if val is not None else b[off] ^ 0xFF
    with open(name, "wb") as fh:
        fh.write(bytes(b))
    return name


# Superblock (version 0 layout): signature 0-7, versions 8-12, sizes 13-14, ...,
# base address 24, free-space address 32, end-of-file address 40, root symbol table entry 56.
for off, tag in ((0, "sig0"), (3, "sig3"), (8, "sbver"), (13, "sizeoff"), (14, "sizelen"),
                 (16, "leafk"), (24, "base"), (40, "eof_lo"), (47, "eof_hi"), (64, "roothdr"),
                 (65, "roothdr1")):
    name = f"corrupt_sb_{tag}.h5"
    corrupt("reg", name, [(off, None)])
    data_case("reg", name, None, "", problem=False, codes="2,3", info="2,3")


def data_offset(kind, path):
    with h5py.File(BASE[kind], "r") as f:
        return f[path].id.get_offset()


def header_addr(kind, path):
    with h5py.File(BASE[kind], "r") as f:
        return h5py.h5o.get_info(f[path].id).addr


# Data bytes: 8 bytes of 0xFF make a NaN, which the reader must report with its position.
off = data_offset("reg", "/train/X")
name = corrupt("reg", "corrupt_data_x.h5", [(off + 8 * 4 + i, 0xFF) for i in range(8)])
data_case("reg", name, None, r"/train/X.*non-finite value at row 1, column 1")
off = data_offset("ot", "/target/b")
name = corrupt("ot", "corrupt_data_b.h5", [(off + i, 0xFF) for i in range(8)])
data_case("ot", name, None, r"/target/b.*non-finite")
# 0x7FF0... in the high bytes: +Inf (little-endian: the exponent is in the last two bytes).
off = data_offset("reg", "/train/y")
name = corrupt("reg", "corrupt_data_y_inf.h5",
               [(off + i, 0) for i in range(6)] + [(off + 6, 0xF0), (off + 7, 0x7F)])
data_case("reg", name, None, r"/train/y.*non-finite value at row 0")

# Object headers: flip single bytes of the header of /train/X and of the root group. Only
# bytes that matter (version-1 header: version 0, header size 8, then messages of 8-byte
# prefix + data; /train/X's first message is its dataspace: version 24, rank 25, dims 32, 40);
# a flipped reserved byte leaves a valid file (the fuzzer covers the rest).
hx = header_addr("reg", "/train/X")
for k in (0, 8, 16, 20, 24, 25, 32, 33, 40, 47):
    name = f"corrupt_hdr_x_{k}.h5"
    corrupt("reg", name, [(hx + k, None)])
    data_case("reg", name, None, "", problem=False, codes="2,3", info="0,2,3")
hr = header_addr("reg", "/")
for k in (0, 8, 16, 24, 40):
    name = f"corrupt_hdr_root_{k}.h5"
    corrupt("reg", name, [(hr + k, None)])
    data_case("reg", name, None, "", problem=False, codes="2,3", info="0,2,3")

# Not HDF5: text, zeros, an HDF5 signature followed by garbage.
with open("text.h5", "w") as fh:
    fh.write("format = lsekit-dataset\n")
data_case("reg", "text.h5", None, "not an HDF5 file", problem=False, codes="3", info="3")
with open("zeros.h5", "wb") as fh:
    fh.write(bytes(4096))
data_case("reg", "zeros.h5", None, "", problem=False, codes="3", info="3")
with open("sig_garbage.h5", "wb") as fh:
    fh.write(b"\x89HDF\r\n\x1a\n" + bytes((i * 37 + 11) % 256 for i in range(4000)))
data_case("reg", "sig_garbage.h5", None, "", problem=False, codes="3", info="3")
os.makedirs("a_directory.h5", exist_ok=True)
add("solve:directory", "3", "a_directory\\.h5.*directory",
    "solve a_directory.h5 --out dir.out.h5 -q",
    "dir.out.h5")
add("info:directory", "3", "a_directory\\.h5.*directory", "info a_directory.h5")
os.mkfifo("a_fifo.h5")  # opening a FIFO for reading would block forever
add("solve:fifo", "3", r"a_fifo\.h5.*regular file", "solve a_fifo.h5 --out fifo.out.h5 -q",
    "fifo.out.h5")
add("info:fifo", "3", r"a_fifo\.h5.*regular file", "info a_fifo.h5")
add("eval:fifo", "3", r"a_fifo\.h5.*regular file", "eval a_fifo.h5 base_reg.h5")
add("solve:dev_zero", "3", r"/dev/zero.*regular file", "solve /dev/zero --out zero.out.h5 -q",
    "zero.out.h5")
add("solve:missing", "3", "no_such_file\\.h5.*no such file",
    "solve no_such_file.h5 --out missing.out.h5 -q", "missing.out.h5")
add("eval:missing_result", "3", "no_such_result\\.h5", "eval no_such_result.h5 base_reg.h5")

# ---- wrong dtypes, ranks, shapes -----------------------------------------------------------

X = rng.normal(size=(N, P))
# float32 and integer arrays are read and converted to float64 (issue 12); their non-finite
# values are refused like float64 ones.
accepted_case("reg", "x_float32.h5", replace("/train/X", X.astype(np.float32)))
accepted_case("reg", "x_int64.h5", replace("/train/X", np.ones((N, P), dtype=np.int64)))
accepted_case("reg", "x_int8.h5", replace("/train/X", np.ones((N, P), dtype=np.int8)))
accepted_case("reg", "x_uint16_be.h5", replace("/train/X", np.ones((N, P), dtype=">u2")))
X32 = X.astype(np.float32)
X32[7, 1] = np.nan
data_case("reg", "x_float32_nan.h5", replace("/train/X", X32), r"/train/X.*non-finite.*row 7, column 1")
X32 = X.astype(np.float32)
X32[0, 0] = np.inf
data_case("cls", "x_float32_inf_cls.h5", replace("/train/X", X32), r"/train/X.*non-finite")
data_case("reg", "x_float16_inf.h5", replace("/train/X", np.full((N, P), np.inf, dtype=np.float16)),
          r"/train/X.*non-finite")
data_case("reg", "x_string.h5",
          replace("/train/X", np.array([["a"] * P] * N, dtype=h5py.string_dtype())), r"/train/X")
data_case("reg", "x_bool.h5", replace("/train/X", np.ones((N, P), dtype=bool)), r"/train/X")
data_case("reg", "x_complex.h5", replace("/train/X", np.ones((N, P), dtype=np.complex128)),
          r"/train/X")
data_case("reg", "x_longdouble.h5", replace("/train/X", np.ones((N, P), dtype=np.longdouble)),
          r"/train/X")
data_case("reg", "x_compound.h5",
          replace("/train/X", np.zeros(N, dtype=[("a", "f8"), ("b", "f8")])), r"/train/X")
data_case("reg", "x_vlen.h5",
          replace("/train/X", np.array([np.ones(i % 3 + 1) for i in range(N)], dtype=object),
                  dtype=h5py.vlen_dtype(np.float64)), r"/train/X")
def array_type(f):
    del f["/train/X"]
    x = f.create_dataset("/train/X", shape=(N,), dtype=np.dtype((np.float64, (P,))))
    x[...] = np.ones((N, P))


data_case("reg", "x_array_type.h5", array_type, r"/train/X")
data_case("reg", "x_opaque.h5", replace("/train/X", np.void(b"\x01" * 8)), r"/train/X")
data_case("reg", "y_string.h5",
          replace("/train/y", np.array(["1.5"] * N, dtype=h5py.string_dtype())),
          r"/train/y.*float64.*string")
accepted_case("reg", "y_int.h5", replace("/train/y", np.ones(N, dtype=np.int64)))
accepted_case("reg", "y_float32.h5", replace("/train/y", np.ones(N, dtype=np.float32)))
data_case("reg", "y_float32_nan.h5", replace("/train/y", np.full(N, np.nan, dtype=np.float32)),
          r"/train/y.*non-finite value at row 0")
accepted_case("cls", "labels_float.h5", replace("/train/y", (np.arange(N) % K).astype(np.float64)))
accepted_case("cls", "labels_int8.h5", replace("/train/y", (np.arange(N) % K).astype(np.int8)))
data_case("cls", "labels_float_half.h5", replace("/train/y", np.full(N, 0.5)),
          r"/train/y.*label at row 0 is 0\.5, not an integer")
data_case("cls", "labels_float32_nan.h5", replace("/train/y", np.full(N, np.nan, dtype=np.float32)),
          r"/train/y.*label at row 0 is nan")
data_case("cls", "labels_string.h5",
          replace("/train/y", np.array(["0"] * N, dtype=h5py.string_dtype())), r"/train/y")
data_case("cls", "labels_bool.h5", replace("/train/y", np.zeros(N, dtype=bool)), r"/train/y")
data_case("reg", "x_rank1.h5", replace("/train/X", np.ones(N)), r"/train/X.*rank 2.*rank 1")
data_case("reg", "x_rank3.h5", replace("/train/X", np.ones((N, P, 2))), r"/train/X.*rank 2.*rank 3")
data_case("reg", "x_scalar.h5", replace("/train/X", np.float64(1.0)), r"/train/X.*rank 2")
data_case("reg", "x_null.h5", replace("/train/X", h5py.Empty("f8")), r"/train/X.*null")
data_case("reg", "y_rank2.h5", replace("/train/y", np.ones((N, 1))), r"/train/y.*rank 1")
data_case("reg", "y_short.h5", replace("/train/y", np.ones(N - 3)), r"/train/y.*length 37.*40")
data_case("reg", "y_long.h5", replace("/train/y", np.ones(N + 1)), r"/train/y.*length 41.*40")
data_case("reg", "group_short.h5", replace("/train/group", np.zeros(N - 1, dtype=np.int64)),
          r"/train/group.*length")
data_case("reg", "group_negative.h5", replace("/train/group", -np.ones(N, dtype=np.int64)),
          r"/train/group.*-1")
accepted_case("reg", "group_float.h5", replace("/train/group", np.zeros(N)))
data_case("reg", "group_float_frac.h5", replace("/train/group", np.full(N, 0.25)),
          r"/train/group.*group id at row 0 is 0\.25, not an integer")
data_case("cls", "y_clean_range.h5", replace("/train/y_clean", np.full(N, 7, dtype=np.int64)),
          r"/train/y_clean.*7")

# Structure: a group where a dataset belongs, a dataset where a group belongs, links.
data_case("reg", "x_is_group.h5", lambda f: (f.__delitem__("/train/X"), f.create_group("/train/X")),
          r"/train/X.*group")
data_case("reg", "train_is_dataset.h5",
          lambda f: (f.__delitem__("/train"), f.create_dataset("/train", data=np.ones(3))),
          r"/train/X.*missing")
data_case("reg", "x_missing.h5", lambda f: f.__delitem__("/train/X"), r"/train/X.*missing dataset")
data_case("reg", "y_missing.h5", lambda f: f.__delitem__("/train/y"), r"/train/y.*missing dataset")
data_case("reg", "test_y_missing.h5", lambda f: f.__delitem__("/test/y"), r"/test/y.*missing")
data_case("reg", "test_x_missing.h5", lambda f: f.__delitem__("/test/X"), r"/test/X.*missing")


def soft_loop(f):
    del f["/train/X"]
    f["/train/X"] = h5py.SoftLink("/train/X")


data_case("reg", "x_softlink_loop.h5", soft_loop, r"/train/X")


def soft_dangling(f):
    del f["/train/X"]
    f["/train/X"] = h5py.SoftLink("/nowhere/X")


data_case("reg", "x_softlink_dangling.h5", soft_dangling, r"/train/X.*missing")


def external(f):
    del f["/train/X"]
    f["/train/X"] = h5py.ExternalLink("no_such_external.h5", "/X")


data_case("reg", "x_external_missing.h5", external, r"/train/X")


def external_storage(f):
    del f["/train/X"]
    f.create_dataset("/train/X", shape=(N, P), dtype="f8",
                     external=[("no_such_raw_file.bin", 0, N * P * 8)])


data_case("reg", "x_external_storage.h5", external_storage, r"/train/X", codes="2,3", info="2,3")


def named_type(f):
    del f["/train/X"]
    f["/train/X"] = np.dtype("f8")


data_case("reg", "x_named_type.h5", named_type, r"/train/X")


def unsupported_attr(f):
    # A string dataset (described, not read, by info) with an integer attribute named like the
    # note read_h5doc attaches to unsupported objects.
    replace("/train/X", np.array([["a"] * P] * N, dtype=h5py.string_dtype()))(f)
    f["/train/X"].attrs["<unsupported>"] = np.int64(7)


data_case("reg", "x_unsupported_attr.h5", unsupported_attr, r"/train/X")

# ---- empty datasets and absurd declared sizes -------------------------------------------------

data_case("reg", "x_n0.h5", lambda f: (replace("/train/X", np.zeros((0, P)))(f),
                                       replace("/train/y", np.zeros(0))(f)), r"/train/X.*empty")
data_case("reg", "x_p0.h5", replace("/train/X", np.zeros((N, 0))), r"/train/X.*empty")
data_case("reg", "x_00.h5", replace("/train/X", np.zeros((0, 0))), r"/train/X.*empty")
data_case("reg", "test_n0.h5", lambda f: (replace("/test/X", np.zeros((0, P)))(f),
                                          replace("/test/y", np.zeros(0))(f)), r"/test/X.*empty")
data_case("cls", "cls_n0.h5", lambda f: (replace("/train/X", np.zeros((0, P)))(f),
                                         replace("/train/y", np.zeros(0, dtype=np.int64))(f),
                                         f.__delitem__("/train/y_clean")), r"/train/X.*empty")
data_case("ot", "ot_x_empty.h5", replace("/source/X", np.zeros((0, D))), r"/source/X.*empty")
data_case("ot", "ot_y_empty.h5", lambda f: (replace("/target/Y", np.zeros((0, D)))(f),
                                            replace("/target/b", np.zeros(0))(f)),
          r"/target/Y.*empty")
data_case("ot", "ot_d0.h5", lambda f: (replace("/source/X", np.zeros((30, 0)))(f)),
          r"/source/X.*empty")


def huge(path, shape, dtype="f8"):
    def m(f):
        del f[path]
        chunks = tuple(1 for _ in shape)
        f.create_dataset(path, shape=shape, dtype=dtype, chunks=chunks)
    return m


T = 10 ** 12
data_case("reg", "x_huge_1e12.h5", huge("/train/X", (T, T)), r"/train/X.*too large", info="2")
data_case("reg", "x_huge_2e62.h5", huge("/train/X", (2 ** 62, 2 ** 62)), r"/train/X.*too large",
          info="2")
data_case("reg", "x_huge_rows.h5", huge("/train/X", (2 ** 40, P)), r"/train/X.*too large", info="2")
data_case("reg", "y_huge.h5", huge("/train/y", (T,)), r"/train/y", info="2")
data_case("ot", "ot_b_huge.h5", huge("/target/b", (T,)), r"/target/b", info="2")
data_case("ot", "ot_y_huge.h5", huge("/target/Y", (T, D)), r"/target/Y.*too large", info="2")
# Declared within the element limit but never written: 2^31 x 1 float64 (16 GiB of fill value).
data_case("reg", "x_unwritten_16g.h5", huge("/train/X", (2 ** 31, 1)), r"/train/X", info="2")
data_case("reg", "x_unwritten_small.h5", huge("/train/X", (N, P)),
          r"/train/X.*(never written|no data)",
          info="2")


def partial(f):
    huge("/train/X", (2 ** 31, 1))(f)
    f["/train/X"][0, 0] = 1.0  # one chunk of 2^31 written


data_case("reg", "x_partial_16g.h5", partial, r"/train/X.*part", info="2")

# ---- attributes ------------------------------------------------------------------------------

for kind, attrs in (("reg", ("format", "format_version", "task")),
                    ("cls", ("num_classes",)),
                    ("ot", ("format", "format_version", "epsilon", "cost"))):
    for a in attrs:
        name = f"noattr_{kind}_{a}.h5"
        # A file without 'format' cannot be attributed to a problem: it names the file.
        obj = "format" if a == "format" else rf"missing attribute '{a}'"
        # Before 'task' is read, a dataset is only known as an "lsekit dataset".
        problem = (a != "format") and (
            LSE_WHAT if kind != "ot" and a in ("format_version", "task") else True)
        data_case(kind, name, del_attr(a), obj, problem=problem)

data_case("reg", "format_wrong.h5", set_attr("format", "lsekit-result"), r"format.*lsekit-result",
          problem=False)
data_case("reg", "format_other.h5", set_attr("format", "not-lsekit"), r"format.*not-lsekit",
          problem=False)
data_case("reg", "format_int.h5", set_attr("format", np.int64(1)), r"format", problem=False)
data_case("reg", "format_array.h5", set_attr("format", np.array(["lsekit-dataset"] * 2,
                                                                dtype=h5py.string_dtype())),
          r"format", problem=False)
data_case("reg", "format_empty.h5", set_attr("format", ""), r"format", problem=False)
data_case("reg", "format_bytes_fixed.h5", set_attr("format", np.bytes_(b"lsekit-datasetX")),
          r"format", problem=False)
data_case("reg", "version_2.h5", set_attr("format_version", np.int64(2)), r"format_version 2",
          problem=LSE_WHAT)
data_case("reg", "version_0.h5", set_attr("format_version", np.int64(0)), r"format_version 0",
          problem=LSE_WHAT)
data_case("reg", "version_neg.h5", set_attr("format_version", np.int64(-1)), r"format_version -1",
          problem=LSE_WHAT)
data_case("reg", "version_string.h5", set_attr("format_version", "1"),
          r"format_version.*integer", problem=LSE_WHAT)
data_case("reg", "version_float.h5", set_attr("format_version", np.float64(1.5)),
          r"format_version.*integer", problem=LSE_WHAT)
data_case("reg", "version_nan.h5", set_attr("format_version", np.float64("nan")),
          r"format_version.*integer", problem=LSE_WHAT)
data_case("reg", "version_huge.h5", set_attr("format_version", np.uint64(2 ** 64 - 1)),
          r"format_version", problem=LSE_WHAT)
data_case("reg", "task_unknown.h5", set_attr("task", "clustering"), r"task.*clustering",
          problem=LSE_WHAT)
data_case("reg", "task_int.h5", set_attr("task", np.int64(0)), r"task.*string", problem=LSE_WHAT)
data_case("cls", "num_classes_1.h5", set_attr("num_classes", np.int64(1)), r"num_classes.*1")
data_case("cls", "num_classes_0.h5", set_attr("num_classes", np.int64(0)), r"num_classes")
data_case("cls", "num_classes_neg.h5", set_attr("num_classes", np.int64(-3)), r"num_classes")
data_case("cls", "num_classes_huge.h5", set_attr("num_classes", np.int64(2 ** 40)), r"num_classes")
data_case("cls", "num_classes_float.h5", set_attr("num_classes", np.float64(2.5)),
          r"num_classes.*integer")
data_case("cls", "num_classes_string.h5", set_attr("num_classes", "3"), r"num_classes")
data_case("cls", "num_classes_small.h5", set_attr("num_classes", np.int64(2)),
          r"/train/y.*label 2 .*outside 0\.\.1")
data_case("ot", "eps_zero.h5", set_attr("epsilon", np.float64(0.0)), r"epsilon")
data_case("ot", "eps_neg.h5", set_attr("epsilon", np.float64(-0.1)), r"epsilon")
data_case("ot", "eps_nan.h5", set_attr("epsilon", np.float64("nan")), r"epsilon")
data_case("ot", "eps_inf.h5", set_attr("epsilon", np.float64("inf")), r"epsilon")
data_case("ot", "eps_string.h5", set_attr("epsilon", "0.1"), r"epsilon.*number")
data_case("ot", "eps_array.h5", set_attr("epsilon", np.array([0.1, 0.2])), r"epsilon")
data_case("ot", "cost_other.h5", set_attr("cost", "euclidean"), r"cost.*euclidean")
data_case("ot", "cost_int.h5", set_attr("cost", np.int64(2)), r"cost")

# ---- values: NaN / Inf, labels out of range ---------------------------------------------------


def poke(path, index, value):
    def m(f):
        a = f[path][...]
        a[index] = value
        f[path][...] = a
    return m


data_case("reg", "x_nan.h5", poke("/train/X", (3, 1), np.nan), r"/train/X.*row 3, column 1")
data_case("reg", "x_inf.h5", poke("/train/X", (0, 0), np.inf), r"/train/X.*non-finite")
data_case("reg", "x_neginf.h5", poke("/train/X", (N - 1, P - 1), -np.inf), r"/train/X.*non-finite")
data_case("reg", "y_nan.h5", poke("/train/y", 5, np.nan), r"/train/y.*row 5")
data_case("reg", "y_inf.h5", poke("/train/y", 0, np.inf), r"/train/y.*non-finite")
data_case("reg", "test_x_nan.h5", poke("/test/X", (2, 2), np.nan), r"/test/X.*non-finite")
data_case("reg", "test_y_inf.h5", poke("/test/y", 1, -np.inf), r"/test/y.*non-finite")
data_case("cls", "label_neg.h5", poke("/train/y", 4, -1), r"/train/y.*label -1 at row 4")
data_case("cls", "label_big.h5", poke("/train/y", 0, 3), r"/train/y.*label 3 at row 0")
data_case("cls", "label_huge.h5", poke("/train/y", 0, 2 ** 62), r"/train/y.*outside")
data_case("cls", "label_uint64_max.h5",
          replace("/train/y", np.full(N, 2 ** 64 - 1, dtype=np.uint64)), r"/train/y.*outside")
data_case("cls", "test_label_big.h5", poke("/test/y", 9, 99), r"/test/y.*label 99")
data_case("cls", "x_nan_cls.h5", poke("/train/X", (0, 0), np.nan), r"/train/X.*non-finite")
data_case("ot", "ot_x_nan.h5", poke("/source/X", (0, 0), np.nan), r"/source/X.*non-finite")
data_case("ot", "ot_xtest_inf.h5", poke("/source/X_test", (1, 1), np.inf),
          r"/source/X_test.*non-finite")
data_case("ot", "ot_y_nan.h5", poke("/target/Y", (4, 1), np.nan), r"/target/Y.*non-finite")

# ---- OT weights and dimensions ------------------------------------------------------------------

data_case("ot", "b_negative.h5", replace("/target/b", np.array([0.5, 0.5, 0.3, -0.3, 0.0])),
          r"/target/b.*negative weight")
data_case("ot", "b_sum_small.h5", replace("/target/b", np.full(M, 0.1)), r"/target/b.*sum")
data_case("ot", "b_sum_big.h5", replace("/target/b", np.full(M, 1.0)), r"/target/b.*sum to 5")
# Off by 1e-5: more than the 1e-6 that float32 normalization can leave; refused.
data_case("ot", "b_sum_off.h5", replace("/target/b", np.array([0.2, 0.2, 0.2, 0.2, 0.2 + 1e-5])),
          r"/target/b.*sum")
# Off by 3e-8 or 1.9e-9 (a float32 normalization, the example): renormalized.
accepted_case("ot", "b_sum_f32ulp.h5", replace("/target/b", np.array([0.2, 0.2, 0.2, 0.2, 0.2 + 3e-8])))
accepted_case("ot", "b_sum_1p9e-9.h5", replace("/target/b", np.full(M, 0.2 + 1.9e-9 / M)))
data_case("ot", "b_zero.h5", replace("/target/b", np.zeros(M)), r"/target/b.*sum to 0")
data_case("ot", "b_nan.h5", replace("/target/b", np.array([np.nan, 0.25, 0.25, 0.25, 0.25])),
          r"/target/b.*non-finite")
data_case("ot", "b_inf.h5", replace("/target/b", np.array([np.inf, 0.0, 0.0, 0.0, 0.0])),
          r"/target/b.*non-finite")
data_case("ot", "b_short.h5", replace("/target/b", np.full(M - 1, 1.0 / (M - 1))),
          r"/target/b.*length 4.*5")
data_case("ot", "b_rank2.h5", replace("/target/b", np.full((M, 1), 1.0 / M)), r"/target/b.*rank")
accepted_case("ot", "b_int.h5", replace("/target/b", np.array([1, 0, 0, 0, 0], dtype=np.int64)))
accepted_case("ot", "b_float32.h5", replace("/target/b", np.full(M, 0.2, dtype=np.float32)))
data_case("ot", "b_float32_nan.h5",
          replace("/target/b", np.array([np.nan, 0.25, 0.25, 0.25, 0.25], dtype=np.float32)),
          r"/target/b.*non-finite")
data_case("ot", "b_float32_sum_off.h5", replace("/target/b", np.full(M, 0.3, dtype=np.float32)),
          r"/target/b.*sum to 1\.5")
accepted_case("ot", "ot_points_float32.h5",
              lambda f: [replace(p, f[p][()].astype(np.float32))(f)
                         for p in ("/source/X", "/source/X_test", "/target/Y")])
data_case("ot", "ot_y_float32_inf.h5",
          replace("/target/Y", np.full((M, D), np.inf, dtype=np.float32)), r"/target/Y.*non-finite")
data_case("ot", "b_missing.h5", lambda f: f.__delitem__("/target/b"), r"/target/b.*missing")
data_case("ot", "y_missing_ot.h5", lambda f: f.__delitem__("/target/Y"), r"/target/Y.*missing")
data_case("ot", "dim_mismatch.h5", replace("/target/Y", np.zeros((M, D + 1))),
          r"/target/Y.*3 columns.*/source/X.*2")
data_case("ot", "dim_mismatch_test.h5", replace("/source/X_test", np.zeros((10, D + 2))),
          r"/source/X_test.*4 columns")
data_case("ot", "ot_x_rank1.h5", replace("/source/X", np.zeros(30)), r"/source/X.*rank")
accepted_case("ot", "ot_x_int.h5",
              lambda f: replace("/source/X", np.zeros(f["/source/X"].shape, dtype=np.int32))(f))
data_case("ot", "ot_x_bool.h5",
          lambda f: replace("/source/X", np.zeros(f["/source/X"].shape, dtype=bool))(f),
          r"/source/X.*expected a float64 dataset.*enum")

# ---- test split with a different p --------------------------------------------------------------

data_case("reg", "test_p_mismatch.h5", replace("/test/X", np.zeros((NT, P + 1))),
          r"/test/X.*4 columns.*/train/X.*3")
data_case("cls", "test_p_mismatch_cls.h5", replace("/test/X", np.zeros((NT, P - 1))),
          r"/test/X.*2 columns")
data_case("reg", "test_y_len.h5", replace("/test/y", np.zeros(NT + 2)), r"/test/y.*length")

# ---- hostile result files (eval RESULT INPUT) ---------------------------------------------------


def result_case(kind, name, mutate, pattern, codes="2"):
    shutil.copy(RES[kind], name)
    with h5py.File(name, "r+") as f:
        mutate(f)
    add(f"eval_result:{name}", codes, esc(name) + ".*" + pattern, f"eval {name} {BASE[kind]}")
    add(f"info_result:{name}", "0,2", esc(name), f"info {name}")


result_case("reg", "res_no_format.h5", del_attr("format"), r"lsekit-result")
result_case("reg", "res_format_dataset.h5", set_attr("format", "lsekit-dataset"), r"lsekit-result")
result_case("reg", "res_no_weights.h5", lambda f: f.__delitem__("/solution/weights"),
            r"/solution/weights.*DRO regression")
result_case("reg", "res_weights_short.h5", replace("/solution/weights", np.zeros(2)),
            r"/solution/weights.*2 entries.*3 features")
result_case("reg", "res_weights_nan.h5", replace("/solution/weights", np.array([np.nan, 0, 0])),
            r"non-finite.*DRO regression")
result_case("reg", "res_weights_int.h5", replace("/solution/weights", np.zeros(P, dtype=np.int64)),
            r"/solution/weights")
result_case("reg", "res_weights_string.h5",
            replace("/solution/weights", np.array(["a"] * P, dtype=h5py.string_dtype())),
            r"/solution/weights")
result_case("reg", "res_weights_2d.h5", replace("/solution/weights", np.zeros((1, P))),
            r"/solution/weights")
result_case("reg", "res_intercept_vec.h5", replace("/solution/intercept", np.zeros(2)),
            r"/solution")
result_case("reg", "res_weights_huge.h5", huge("/solution/weights", (T, T)),
            r"/solution/weights.*too large")
result_case("reg", "res_lambda_nan.h5", set_attr("lambda", np.float64("nan")), r"lambda")
result_case("reg", "res_lambda_neg.h5", set_attr("lambda", np.float64(-1.0)), r"lambda")
result_case("reg", "res_l2_neg.h5", set_attr("l2", np.float64(-1.0)), r"l2")
result_case("cls", "res_cls_shape.h5", replace("/solution/weights", np.zeros((K + 1, P))),
            r"/solution/weights.*shape \(4, 3\)")
result_case("cls", "res_cls_intercept.h5", replace("/solution/intercept", np.zeros(K - 1)),
            r"/solution/intercept")
result_case("ot", "res_ot_short.h5", replace("/solution/potential", np.zeros(M - 1)),
            r"/solution/potential.*4 entries.*5 atoms")
result_case("ot", "res_ot_nan.h5", replace("/solution/potential", np.full(M, np.nan)),
            r"/solution/potential.*non-finite")
result_case("ot", "res_ot_missing.h5", lambda f: f.__delitem__("/solution/potential"),
            r"/solution/potential.*missing")
result_case("ot", "res_eps_neg.h5", set_attr("epsilon", np.float64(-1.0)), r"epsilon")
# A regression result evaluated on an OT instance and vice versa.
add("eval_result:reg_on_ot", "2", r"base_res_reg\.h5.*/solution/potential",
    "eval base_res_reg.h5 base_ot.h5")
add("eval_result:ot_on_cls", "2", r"base_res_ot\.h5.*/solution/weights",
    "eval base_res_ot.h5 base_cls.h5")
size = len(open(RES["reg"], "rb").read())
for cut in (100, size // 2, size - 1):
    name = f"res_trunc_{cut}.h5"
    with open(name, "wb") as fh:
        fh.write(open(RES["reg"], "rb").read()[:cut])
    add(f"eval_result:{name}", "3", esc(name), f"eval {name} base_reg.h5")
add("eval:dataset_as_result", "2", r"base_reg\.h5.*lsekit-result", "eval base_reg.h5 base_reg.h5")
add("solve:result_as_input", "2", r"base_res_reg\.h5.*format.*lsekit-result",
    "solve base_res_reg.h5 --out resin.out.h5 -q", "resin.out.h5")

# ---- invalid option values ----------------------------------------------------------------------

OPTS = [
    ("batch_neg", "--batch -5", r"--batch"),
    ("batch_negative", "--batch -1", r"--batch"),
    ("batch_too_big", "--batch 41", r"--batch 41"),
    ("batch_text", "--batch many", r"batch"),
    ("batch_overflow", "--batch 99999999999999999999999", r"batch"),
    ("rho_2", "--solver softplus --rho 2", r"--rho"),
    ("rho_neg", "--solver softplus --rho -0.5", r"--rho"),
    ("rho_nan", "--solver softplus --rho nan", r"--rho"),
    ("rho_kappa_zero", "--rho-kappa 0", r"--rho-kappa"),
    ("step_nan", "--step nan", r"--step"),
    ("step_inf", "--step inf", r"--step"),
    ("step_neg", "--step -1", r"--step"),
    ("step_zero", "--step 0", r"--step"),
    ("threads_neg", "--threads -1", r"--threads"),
    ("threads_huge", "--threads 100000000", r"--threads"),
    ("threads_text", "--threads all", r"threads"),
    ("epochs_negative", "--epochs -1", r"--epochs"),
    ("epochs_neg", "--epochs -3", r"--epochs"),
    ("epochs_nan", "--epochs nan", r"--epochs"),
    ("epochs_inf", "--epochs inf", r"--epochs"),
    ("steps_neg", "--steps -1", r"--steps"),
    ("lambda_zero", "--lambda 0", r"base_reg\.h5.*--lambda.*DRO regression"),
    ("lambda_nan", "--lambda nan", r"--lambda"),
    ("lambda_inf", "--lambda inf", r"--lambda"),
    ("l2_neg", "--l2 -1", r"--l2"),
    ("l2_nan", "--l2 nan", r"--l2"),
    ("solver_unknown", "--solver sgd", r"--solver.*sgd"),
    ("optimizer_unknown", "--optimizer lion", r"--optimizer.*lion"),
    ("schedule_unknown", "--schedule cosine", r"--schedule.*cosine"),
    ("sampling_unknown", "--sampling stratified", r"--sampling.*stratified"),
    ("optimizer_lbfgs_sgd", "--solver erm --optimizer lbfgs", r"lbfgs"),
    ("sinkhorn_on_dro", "--solver full --optimizer sinkhorn", r"sinkhorn"),
    ("momentum_1", "--variance-reduction none --optimizer nesterov --momentum 1", r"--momentum"),
    ("beta1_1", "--beta1 1", r"beta"),
    ("clip_neg", "--clip -1", r"--clip"),
    ("average_from_1", "--average-from 1", r"--average-from"),
    ("decay_k0_neg", "--decay-k0 -1", r"--decay-k0"),
    ("eval_points_1", "--eval-points 1", r"--eval-points"),
    ("blowup_zero", "--blowup 0", r"--blowup"),
    ("gtol_zero", "--solver full --gtol 0", r"--gtol"),
    ("max_iter_zero", "--solver full --max-iter 0", r"--max-iter"),
    ("lbfgs_memory_zero", "--solver full --lbfgs-memory 0", r"--lbfgs-memory"),
    ("unknown_option", "--frobnicate 3", r"frobnicate"),
    ("twice", "--step 0.1 --step 0.2", r"step"),
    ("seed_text", "--seed abc", r"seed"),
    # Boost.Program_options' what() looped forever on a text holding its own placeholder.
    ("percent_value", "--batch %value%", r"batch"),
    ("percent_option", "--step %option%x", r"step"),
    ("percent_unknown", "--%original_token%", r"original_token"),
    ("percent_canonical", "--%canonical_option%=3", r"canonical_option"),
]
for oid, flags, pat in OPTS:
    out = f"opt_{oid}.out.h5"
    add(f"option:{oid}", "2", pat, f"solve base_reg.h5 {flags} --out {out} -q", out)
for oid, flags, pat in (("eps_neg", "--epsilon -1", r"base_ot\.h5.*--epsilon"),
                        ("eps_nan", "--epsilon nan", r"--epsilon"),
                        ("eps_inf", "--epsilon inf", r"--epsilon"),
                        ("l2_on_ot", "--l2 0.1", r"--l2"),
                        ("atoms_neg", "--batch 10 --atoms -1", r"--atoms"),
                        ("batch_too_big_ot", "--batch 31", r"--batch 31")):
    out = f"opt_{oid}.out.h5"
    add(f"option:{oid}", "2", pat, f"solve base_ot.h5 {flags} --out {out} -q", out)
add("option:no_input", "2", r"input", "solve --out noin.out.h5 -q", "noin.out.h5")
add("option:missing_value", "2", r"step", "solve base_reg.h5 --out mv.out.h5 -q --step",
    "mv.out.h5")
add("option:no_out", "2", r"--out", "solve base_reg.h5 -q")
add("option:out_is_directory", "2", r"a_directory\.h5.*not a regular file",
    "solve base_reg.h5 --out a_directory.h5 --force -q")
add("option:out_dir_missing", "3", r"no_such_dir", "solve base_reg.h5 --out no_such_dir/x.h5 -q",
    "no_such_dir/x.h5")
add("option:eval_lambda_neg", "2", r"--lambda", "eval base_res_reg.h5 base_reg.h5 --lambda -2")
add("option:eval_threads_neg", "2", r"--threads", "eval base_res_reg.h5 base_reg.h5 --threads -4")
add("option:eval_one_arg", "2", r"usage", "eval base_res_reg.h5")
add("option:info_no_arg", "2", r"usage", "info")

# ---- config files --------------------------------------------------------------------------------


def config(name, text=None, data=None):
    with open(name, "wb") as fh:
        fh.write(data if data is not None else text.encode())
    return name


CONFIGS = [
    ("unknown_key", config("cfg_unknown.ini", "frobnicate = 1\n"), "2",
     r"cfg_unknown\.ini.*frobnicate"),
    ("bad_value", config("cfg_bad_value.ini", "batch = lots\n"), "2", r"cfg_bad_value\.ini.*batch"),
    ("bad_step", config("cfg_bad_step.ini", "step = nan\n"), "2", r"--step"),
    ("percent_value", config("cfg_percent.ini", "batch = %value%\n"), "2",
     r"cfg_percent\.ini.*batch"),
    ("percent_line", config("cfg_percent_line.ini", "%invalid_line%\n"), "2",
     r"cfg_percent_line\.ini"),
    ("fuzz_timeout_1",
     config("cfg_fuzz_timeout_1.ini", data=b"batch = " + b"\xd8" * 23 + b"%value%'"),
     "2", r"cfg_fuzz_timeout_1\.ini"),
    ("bad_solver", config("cfg_bad_solver.ini", "solver = magic\n"), "2", r"--solver.*magic"),
    ("no_equals", config("cfg_no_equals.ini", "batch 10\n"), "2", r"cfg_no_equals\.ini"),
    ("section", config("cfg_section.ini", "[solve]\nbatch = 10\n"), "2", r"cfg_section\.ini"),
    ("empty_key", config("cfg_empty_key.ini", " = 3\n"), "2", r"cfg_empty_key\.ini"),
    ("twice", config("cfg_twice.ini", "batch = 10\nbatch = 20\n"), "2", r"cfg_twice\.ini.*batch"),
    ("binary", config("cfg_binary.ini", data=bytes((i * 97 + 13) % 256 for i in range(2048))), "2",
     r"cfg_binary\.ini"),
    ("nul_bytes", config("cfg_nul.ini", data=b"batch = 1\x000\n\x00\x00\n"), "2", r"cfg_nul\.ini"),
    ("hdf5_as_config", "base_reg.h5", "2", r"base_reg\.h5"),
    ("long_line", config("cfg_long.ini", "solver = " + "x" * 100000 + "\n"), "2", r"--solver"),
]
for cid, path, codes, pat in CONFIGS:
    out = f"cfg_{cid}.out.h5"
    add(f"config:{cid}", codes, pat, f"solve base_reg.h5 --config {path} --out {out} -q", out)
os.makedirs("cfg_dir.ini", exist_ok=True)
add("config:directory", "3", r"cfg_dir\.ini.*directory",
    "solve base_reg.h5 --config cfg_dir.ini --out cfg_dir.out.h5 -q", "cfg_dir.out.h5")
add("config:dev_zero", "3", r"/dev/zero.*not a regular file",
    "solve base_reg.h5 --config /dev/zero --out cfg_zero.out.h5 -q", "cfg_zero.out.h5")
add("config:missing", "3", r"cfg_missing\.ini",
    "solve base_reg.h5 --config cfg_missing.ini --out cfg_missing.out.h5 -q", "cfg_missing.out.h5")

# ---- inputs that crashed or hung lsekit under bench/fuzz.sh (tests/hostile/fuzz_crashes/) --
# *.h5: given to solve (as a dataset), eval (as the input) and info; *.ini: given to --config.

crash_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_crashes")
for fname in sorted(os.listdir(crash_dir)):
    src = os.path.join(crash_dir, fname)
    name = "fuzz_" + fname
    shutil.copy(src, name)
    if fname.endswith(".h5"):
        out = name.replace(".h5", ".out.h5")
        add(f"solve:{name}", "2,3", esc(name), f"solve {name} --out {out} -q", out)
        add(f"eval:{name}", "2,3", esc(name), f"eval base_res_reg.h5 {name}")
        add(f"eval_result:{name}", "2,3", esc(name), f"eval {name} base_reg.h5")
        add(f"info:{name}", "2,3", esc(name), f"info {name}")
    elif fname.endswith(".ini"):
        out = name.replace(".ini", ".out.h5")
        add(f"config:{name}", "2,3", esc(name),
            f"solve base_reg.h5 --config {name} --out {out} -q", out)

# ---- manifest ---------------------------------------------------------------------------

ids = [r[0] for r in rows]
assert len(ids) == len(set(ids)), "duplicate case ids"
with open("cases.tsv", "w") as fh:
    for r in rows:
        fh.write("\t".join(r) + "\n")
print(f"make_hostile: {len(rows)} checks, "
      f"{len([n for n in os.listdir('.') if n.endswith(('.h5', '.ini'))])} files in {WORK}")
