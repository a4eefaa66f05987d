"""Builds the MettaGrid C++ core (`mettagrid._core`) with pybind11; everything else is in pyproject.toml."""
from glob import glob

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

# Compile the translation units in parallel (set NPY_NUM_BUILD_JOBS to override).
ParallelCompile("NPY_NUM_BUILD_JOBS", default=0).install()

core = Pybind11Extension(
    "mettagrid._core",
    sources=sorted(glob("mettagrid/cpp/src/*.cpp")),
    include_dirs=["mettagrid/cpp/include"],
    cxx_std=17,
    extra_compile_args=["-O3", "-fno-math-errno"],
)

setup(ext_modules=[core], cmdclass={"build_ext": build_ext})
