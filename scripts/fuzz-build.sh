#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ into .build-fuzz/bin/fuzz-<target>.
#
# The Quill library is compiled once by swiftc (not SwiftPM, so the normal .build and
# Package.swift are untouched) with -sanitize=fuzzer,address and -enable-testing, into
# .build-fuzz/libQuill.a; each target is Fuzz/Support/*.swift plus Fuzz/<target>/*.swift,
# linked against it. Bounds and overflow checks stay on (-O, not the release -Ounchecked),
# so an out-of-range index traps and is reported as a crash. The C kernels are compiled
# without instrumentation: no parser runs through them.
#
# Usage: scripts/fuzz-build.sh [target ...]   (default: every folder of Fuzz/ but Support)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

OUT=.build-fuzz
mkdir -p "$OUT/obj" "$OUT/bin"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for dir in Fuzz/*/; do
        name=$(basename "$dir")
        [ "$name" = Support ] || [ ! -d "$dir" ] || targets+=("$name")
    done
fi

blas_cflags=$(pkg-config --cflags openblas)
blas_libs=$(pkg-config --libs openblas)
utf8proc_libs=$(pkg-config --libs libutf8proc)

# The C module the library imports, as SwiftPM would generate it.
cat > "$OUT/module.modulemap.new" <<MAP
module _QuillKernels {
    umbrella "$PWD/Sources/_QuillKernels/include"
    export *
}
MAP
cmp -s "$OUT/module.modulemap.new" "$OUT/module.modulemap" 2>/dev/null \
    && rm "$OUT/module.modulemap.new" || mv "$OUT/module.modulemap.new" "$OUT/module.modulemap"

swift_flags=(-O -sanitize=fuzzer,address -swift-version 5
    -I Sources/CUTF8Proc -I Sources/CBLAS
    -Xcc "-fmodule-map-file=$OUT/module.modulemap")
for flag in $blas_cflags; do swift_flags+=(-Xcc "$flag"); done

newer_than() {  # newer_than FILE PATH...: whether any file under PATHs is newer than FILE (or FILE is missing)
    local file=$1; shift
    [ ! -e "$file" ] || [ -n "$(find "$@" -newer "$file" -print -quit)" ]
}

# C kernels.
for c in Sources/_QuillKernels/*.c; do
    obj="$OUT/obj/$(basename "$c" .c).o"
    if newer_than "$obj" "$c" Sources/_QuillKernels/include Sources/_QuillKernels/*.h; then
        echo "fuzz-build: compiling $c"
        clang -c -O2 -ffp-contract=off -ISources/_QuillKernels/include "$c" -o "$obj"
    fi
done

# The library, once for all targets.
if newer_than "$OUT/libQuill.a" Sources/Quill scripts/fuzz-build.sh; then
    echo "fuzz-build: compiling the Quill library with -sanitize=fuzzer,address (about a minute)"
    mapfile -t sources < <(find Sources/Quill -name '*.swift' | sort)
    swiftc -module-name Quill -package-name quill -parse-as-library -emit-library -static -wmo -enable-testing \
        -emit-module -emit-module-path "$OUT/Quill.swiftmodule" \
        "${swift_flags[@]}" "${sources[@]}" -o "$OUT/libQuill.a"
fi

# One executable per target.
for target in "${targets[@]}"; do
    [ -d "Fuzz/$target" ] || { echo "fuzz-build: no target Fuzz/$target" >&2; exit 1; }
    bin="$OUT/bin/fuzz-$target"
    if newer_than "$bin" "$OUT/libQuill.a" "Fuzz/$target"/*.swift Fuzz/Support/*.swift; then
        echo "fuzz-build: linking $bin"
        swiftc -parse-as-library -use-ld=lld "${swift_flags[@]}" -I "$OUT" \
            Fuzz/Support/*.swift "Fuzz/$target"/*.swift \
            "$OUT/libQuill.a" "$OUT"/obj/*.o $blas_libs $utf8proc_libs -o "$bin"
    fi
done
