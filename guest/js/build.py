"""Builds the JavaScript guest: QuickJS-ng and ada (the WHATWG URL parser) compiled to wasm32-wasi
with zig, plus shim.c.

Nothing third-party is stored in the repository: the QuickJS-ng and ada sources come from the
pinned `quickjs-ng` and `ada-url` sdists on PyPI (their sha256 is checked) and zig from the
`ziglang` wheel, all installed into a private cache. The result is cached by a hash of every input,
so a rebuild with nothing changed does no compiling.

    python3 guest/js/build.py OUT.wasm [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

QUICKJS_SDIST = "quickjs-ng==0.17.0.2"
QUICKJS_SDIST_FILE = "quickjs_ng-0.17.0.2.tar.gz"
QUICKJS_SDIST_SHA256 = "43d2e48272208721a7aaea8e3f02d4b9318f12ef20cc4f5421b59d9a470706ef"
ADA_SDIST = "ada-url==4.0.0"
ADA_SDIST_FILE = "ada_url-4.0.0.tar.gz"
ADA_SDIST_SHA256 = "9f399ec867349800a4c2d3aa8df8c533c340494b04d34b1f082b97d9a8b76a07"
ZIG = "ziglang==0.17.1"
# quickjs.c is compiled through shim.c, libregexp.c with LIBREGEXP_PATCHES applied.
ENGINE_SOURCES = ["dtoa.c", "libunicode.c"]
CFLAGS = ["-target", "wasm32-wasi", "-O2", "-mexec-model=reactor"]
# ada is C++20; the guest has no exception support, and ada needs none (its C API reports failure
# as values, and an allocation failure traps the guest as C's would).
CXXFLAGS = ["-std=c++20", "-fno-exceptions", "-fno-rtti"]
LDFLAGS = ["-Wl,-z,stack-size=1048576", "-Wl,--export=__stack_pointer", "-s"]

HERE = Path(__file__).resolve().parent


def run(*args: str | os.PathLike[str], **kwargs: object) -> None:
    subprocess.run([os.fspath(a) for a in args], check=True, **kwargs)  # type: ignore[arg-type]


def toolchain(cache: Path) -> Path:
    """A private virtualenv with zig; returns its python."""
    env = cache / "toolchain"
    python = env / "bin" / "python"
    marker = env / ZIG
    if not marker.exists():
        if env.exists():
            shutil.rmtree(env)
        venv.create(env, with_pip=True)
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ZIG)
        marker.touch()
    return python


def sdist_sources(python: Path, cache: Path, spec: str, file: str, sha256: str, folder: str) -> Path:
    """`folder` of the pinned sdist `spec` (`file`, checked against `sha256`); returns its path."""
    root = cache / file.removesuffix(".tar.gz")
    sources = root / folder
    if sources.is_dir():
        return sources
    downloads = cache / "downloads"
    sdist = downloads / file
    if not sdist.exists():
        run(
            python,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            downloads,
            spec,
        )
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != sha256:
        sdist.unlink()
        raise SystemExit(f"{file} has sha256 {digest}, expected {sha256}")
    with tarfile.open(sdist) as archive:
        prefix = file.removesuffix(".tar.gz") + "/" + folder + "/"
        members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.isfile()]
        tmp = root.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for member in members:
            member.name = folder + "/" + member.name.removeprefix(prefix)
            archive.extract(member, tmp, filter="data")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return sources


# Our C: shim.c, which includes quickjs.c and these parts of ours.
C_SOURCES = (
    "shim.c",
    "wire.c",
    "clone.c",
    "env.c",
    "node.c",
    "subtle.c",
    "intl.c",
    "web.c",
    "compression.c",
    "urlpattern.c",
    "url.c",
)

# Edits to quickjs.c, made at build time. Most make a promise reaction run in the async context
# (node:async_hooks, guest/js/node.c) that was current when it was registered (by `then` or
# `await`), which QuickJS-ng's promise hooks cannot tell us: the reaction record keeps the context
# (made, freed and marked for the cycle collector with the record's other values), and its job
# carries it as a sixth argument to a wrapper of ours. Four count the promises that are pending
# (made, and neither settled nor collected) and let shim.c refuse a new one past its cap. The last
# makes `Date` read its time through
# shim.c (0 while the modules are evaluated, as workerd's clock reads outside a request). Each
# anchor must occur exactly as often as given, so a changed upstream fails the build instead of
# being patched wrongly. One closes a reflective path: `Error.prepareStackTrace` gets CallSites whose
# `getFunction()` upstream answers with every frame's function object, our runtime's own among
# them; as in V8, it now answers only for a sloppy-mode function (none here: modules and our scripts
# are strict, and code from strings is refused), and undefined otherwise. Another keeps no source
# text for the functions of the runtime's own scripts (while shim.c's `dynisolate_hide_source()`
# says so), so `Function.prototype.toString` shows them as V8 shows built-ins: `[native code]`.
QUICKJS_PATCHES = (
    (
        "    JSValue handler;\n} JSPromiseReactionData;\n",
        "    JSValue handler;\n    JSValue async_context;\n} JSPromiseReactionData;\n"
        "static JSValue dynisolate_reaction_context(JSContext *ctx);\n"
        "static int dynisolate_enqueue_reaction(JSContext *ctx, JSValueConst *args, JSValueConst context);\n"
        "static int dynisolate_promise_room(JSContext *ctx);\n"
        "static uint32_t dynisolate_pending_promises;\n",
        1,
    ),
    (
        "    obj = js_create_from_ctor(ctx, new_target, JS_CLASS_PROMISE);\n",
        "    if (dynisolate_promise_room(ctx))\n"
        "        return JS_EXCEPTION;\n"
        "    obj = js_create_from_ctor(ctx, new_target, JS_CLASS_PROMISE);\n",
        1,
    ),
    (
        "    s->promise_state = JS_PROMISE_PENDING;\n    s->is_handled = false;\n",
        "    s->promise_state = JS_PROMISE_PENDING;\n    s->is_handled = false;\n"
        "    dynisolate_pending_promises++;\n",
        1,
    ),
    (
        "    s->promise_state = JS_PROMISE_FULFILLED + is_reject;\n",
        "    s->promise_state = JS_PROMISE_FULFILLED + is_reject;\n    dynisolate_pending_promises--;\n",
        1,
    ),
    (
        "    JS_FreeValueRT(rt, s->promise_result);\n    js_free_rt(rt, s);\n",
        "    if (s->promise_state == JS_PROMISE_PENDING)\n"
        "        dynisolate_pending_promises--;\n"
        "    JS_FreeValueRT(rt, s->promise_result);\n    js_free_rt(rt, s);\n",
        1,
    ),
    (
        "    JS_FreeValueRT(rt, rd->handler);\n    js_free_rt(rt, rd);\n",
        "    JS_FreeValueRT(rt, rd->handler);\n"
        "    JS_FreeValueRT(rt, rd->async_context);\n"
        "    js_free_rt(rt, rd);\n",
        1,
    ),
    (
        "        rd->handler = js_dup(handler);\n",
        "        rd->handler = js_dup(handler);\n"
        "        rd->async_context = dynisolate_reaction_context(ctx);\n",
        1,
    ),
    (
        "            JS_MarkValue(rt, rd->handler, mark_func);\n",
        "            JS_MarkValue(rt, rd->handler, mark_func);\n"
        "            JS_MarkValue(rt, rd->async_context, mark_func);\n",
        1,
    ),
    (
        "JS_EnqueueJob(ctx, promise_reaction_job, 5, args);",
        "dynisolate_enqueue_reaction(ctx, args, rd->async_context);",
        2,
    ),
    (
        "    csd->func = js_dup(sf->cur_func);\n",
        "    csd->func = js_class_has_bytecode(JS_VALUE_GET_OBJ(sf->cur_func)->class_id) &&\n"
        "                        !JS_VALUE_GET_OBJ(sf->cur_func)->u.func.function_bytecode->is_strict_mode\n"
        "                    ? js_dup(sf->cur_func)\n"
        "                    : JS_UNDEFINED;\n",
        1,
    ),
    (
        "static JSValue js_new_callsite(JSContext *ctx, JSCallSiteData *csd);\n",
        "static JSValue js_new_callsite(JSContext *ctx, JSCallSiteData *csd);\n"
        "static bool dynisolate_hide_source(void);\n",
        1,
    ),
    (
        "    b->source = fd->source;\n    b->source_len = fd->source_len;\n",
        "    if (dynisolate_hide_source()) {\n"
        "        js_free(ctx, fd->source);\n"
        "        b->source = NULL;\n"
        "        b->source_len = 0;\n"
        "    } else {\n"
        "        b->source = fd->source;\n"
        "        b->source_len = fd->source_len;\n"
        "    }\n",
        1,
    ),
    (
        "static int64_t date_now(void) {\n    return js__gettimeofday_us() / 1000;\n}\n",
        "static int64_t dynisolate_date_now(void);\n"
        "static int64_t date_now(void) {\n    return dynisolate_date_now();\n}\n",
        1,
    ),
)


# Edits to libregexp.c, the same way: with the `v` flag (unicodeSets), the characters a class may
# not hold bare (`-`, `(`, `/`, ...) and its doubled punctuators (`::`, `..`, ...) are refused
# outside classes too, so `/a-b/v` and `/\[::1\]/v` fail to compile (bellard/quickjs#520, the same
# code in QuickJS-ng). URLPattern compiles every pattern with `v`, as its standard says, and a
# host name or scheme with a hyphen needs it. The fix limits both checks to classes.
LIBREGEXP_PATCHES = (
    (
        "        if (s->unicode_sets && p[1] == c) {\n",
        "        if (s->unicode_sets && inclass && p[1] == c) {\n",
        1,
    ),
    (
        "        if (s->unicode_sets) {\n            /* invalid characters in unicode sets */\n",
        "        if (s->unicode_sets && inclass) {\n            /* invalid characters in unicode sets */\n",
        1,
    ),
)


def patched(upstream: Path, name: str, patches: tuple[tuple[str, str, int], ...], out: Path) -> None:
    """Upstream's source file `name` with `patches` applied, written to `out`."""
    source = (upstream / name).read_text()
    for anchor, replacement, count in patches:
        found = source.count(anchor)
        if found != count:
            raise SystemExit(f"{name}: expected {count} of {anchor!r}, found {found}")
        source = source.replace(anchor, replacement)
    out.write_text(source)


# Our JavaScript, compiled into the engine as C string literals (file -> C name).
SCRIPTS = {
    "primordials.js": "PRIMORDIALS_JS",
    "events.js": "EVENTS_JS",
    "streams.js": "STREAMS_JS",
    "web.js": "WEB_JS",
    "forms.js": "FORMS_JS",
    "subtle.js": "SUBTLE_JS",
    "compression.js": "COMPRESSION_JS",
    "intl.js": "INTL_JS",
    "urlpattern.js": "URLPATTERN_JS",
    "inspect.js": "INSPECT_JS",
    "glue.js": "GLUE_JS",
}


def scripts_header(out: Path) -> None:
    """The SCRIPTS as C string literals."""
    lines = []
    for name, symbol in SCRIPTS.items():
        body = "".join(f"\\x{b:02x}" for b in (HERE / name).read_bytes())
        lines.append(f'static const char {symbol}[] = "{body}";\n')
    out.write_text("".join(lines))


def build(out: Path, cache: Path) -> None:
    inputs = hashlib.sha256()
    for part in (QUICKJS_SDIST_SHA256, ADA_SDIST_SHA256, ZIG, " ".join(CFLAGS + CXXFLAGS + LDFLAGS)):
        inputs.update(part.encode())
    for name in (*C_SOURCES, "build.py", *SCRIPTS):
        inputs.update((HERE / name).read_bytes())
    key = inputs.hexdigest()[:24]
    cached = cache / "out" / f"js-guest-{key}.wasm"
    if not cached.exists():
        python = toolchain(cache)
        upstream = sdist_sources(
            python, cache, QUICKJS_SDIST, QUICKJS_SDIST_FILE, QUICKJS_SDIST_SHA256, "upstream-quickjs"
        )
        ada = sdist_sources(python, cache, ADA_SDIST, ADA_SDIST_FILE, ADA_SDIST_SHA256, "ada_url")
        work = cache / "work" / key
        work.mkdir(parents=True, exist_ok=True)
        scripts_header(work / "scripts.h")
        patched(upstream, "quickjs.c", QUICKJS_PATCHES, work / "quickjs_patched.c")
        patched(upstream, "libregexp.c", LIBREGEXP_PATCHES, work / "libregexp.c")
        cc = [python, "-m", "ziglang", "cc", *CFLAGS, f"-I{upstream}", f"-I{work}", f"-I{ada}"]
        cxx = [python, "-m", "ziglang", "c++", *CFLAGS, *CXXFLAGS]
        env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": os.fspath(cache / "zig-cache")}
        sources = [upstream / src for src in ENGINE_SOURCES] + [work / "libregexp.c", HERE / "shim.c"]
        compiles = [(cc, src) for src in sources] + [(cxx, ada / "ada.cpp")]
        objects = [work / (src.name + ".o") for _, src in compiles]
        jobs = [
            subprocess.Popen([*map(os.fspath, compiler), "-c", os.fspath(src), "-o", os.fspath(obj)], env=env)
            for (compiler, src), obj in zip(compiles, objects, strict=True)
        ]
        if any(job.wait() != 0 for job in jobs):
            raise SystemExit("compiling the JavaScript guest failed")
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        run(*cxx, *objects, *LDFLAGS, "-o", tmp, env=env)
        tmp.rename(cached)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=HERE.parent.parent / "target" / "js-guest")
    args = parser.parse_args()
    build(args.out, args.cache.resolve())


if __name__ == "__main__":
    sys.exit(main())
