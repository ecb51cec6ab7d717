"""The README's quick starts are the files CI runs, copied verbatim."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quick_starts_are_copied_verbatim():
    readme = (ROOT / "README.md").read_text()
    for f in ["python/examples/fashion_mnist.py", "python/examples/ot_points.py",
              "examples/cpp/dro_regression.cpp", "examples/cpp/CMakeLists.txt"]:
        text = (ROOT / f).read_text().rstrip()
        assert text in readme, f + " differs from its copy in README.md"
