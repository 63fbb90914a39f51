"""Builds spikard._spikard, statically linked with libspikard.a.

The core library comes from the repository's CMake build: $SPIKARD_LIB_DIR when set (a CMake
build directory that already holds libspikard.a, as the repo's test step does), otherwise
packages/python/build/core, configured and built here on first use (a clean clone works).
System libraries the core needs (libuv, pcre2, zlib, brotli, zstd, libcrypto, hiredis) are
linked dynamically, found with pkg-config.
"""
import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEPS = ["libuv", "libpcre2-8", "zlib", "libbrotlienc", "libbrotlidec", "libzstd", "libcrypto", "hiredis"]


def core_lib_dir() -> Path:
    given = os.environ.get("SPIKARD_LIB_DIR")
    if given:
        return Path(given).resolve()
    return HERE / "build" / "core"


def pkg_libs() -> list[str]:
    out = subprocess.run(["pkg-config", "--libs", *DEPS], check=True, capture_output=True, text=True)
    return shlex.split(out.stdout)


class BuildWithCore(build_ext):
    def run(self) -> None:
        lib_dir = core_lib_dir()
        if "SPIKARD_LIB_DIR" not in os.environ:
            if not (ROOT / "CMakeLists.txt").exists():
                sys.exit("spikard: the C core sources (../../CMakeLists.txt) are missing")
            if not (lib_dir / "CMakeCache.txt").exists():
                subprocess.run(["cmake", "-S", str(ROOT), "-B", str(lib_dir), "-DCMAKE_BUILD_TYPE=Release",
                                "-DSPK_TESTS=OFF", "-DSPK_WERROR=OFF"], check=True)
            subprocess.run(["cmake", "--build", str(lib_dir), "--target", "spikard_static",
                            "-j", os.environ.get("SPIKARD_JOBS", "2")], check=True)
        lib = lib_dir / "libspikard.a"
        if not lib.exists():
            sys.exit(f"spikard: {lib} not found")
        for ext in self.extensions:
            ext.extra_objects = [str(lib)]
            ext.extra_link_args = pkg_libs() + ["-lpthread", "-lm"]
            ext.depends = [str(lib), str(HERE / "src" / "spikard" / "_realtime.inc.c")] + [str(p) for p in (ROOT / "include" / "spikard").glob("*.h")]
            if os.environ.get("SPK_PY_SANITIZE"):  # the extension too, not only the core
                san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
                ext.extra_compile_args = list(ext.extra_compile_args) + san + ["-g", "-O1"]
        super().run()


setup(
    ext_modules=[
        Extension(
            "spikard._spikard",
            sources=["src/spikard/_spikard.c"],
            include_dirs=[str(ROOT / "include")],
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wshadow", "-Wno-cast-function-type"],
        )
    ],
    cmdclass={"build_ext": BuildWithCore},
)
