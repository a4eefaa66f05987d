"""Builds the C++ extensions with pybind11: the MettaGrid core (`mettagrid._core`) and the `fast`
policy's token convolution (`metta.agent._token_conv`); everything else is in pyproject.toml."""
import sys
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

# OpenMP on Linux only: there the module shares the libgomp that torch loads (see token_conv.cpp);
# elsewhere it runs single-threaded rather than bring a second OpenMP runtime into the process.
openmp = ["-fopenmp"] if sys.platform.startswith("linux") else []
token_conv = Pybind11Extension(
    "metta.agent._token_conv",
    sources=["metta/agent/cpp/token_conv.cpp"],
    cxx_std=17,
    extra_compile_args=["-O3", "-fno-math-errno", *openmp],
    extra_link_args=openmp,
)

setup(ext_modules=[core, token_conv], cmdclass={"build_ext": build_ext})
