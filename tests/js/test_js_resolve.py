"""Import resolution at load (rust/js/resolve.rs): a project's files, and the packages of its
node_modules tree, load as written."""

from __future__ import annotations

import json

import pytest

import dynisolate


def test_imports_without_an_ending_or_of_a_folder_find_their_module(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "src/index.ts": """
                import { twice } from "./math";
                import { greet } from "./text/";
                import { VERSION } from "../version.js";
                import data from "./data";
                export default { run(x: number) { return [twice(x), greet("a"), VERSION, data.n]; } };
            """,
            "src/math.ts": "export const twice = (x: number): number => x * 2;",
            "src/text/index.js": 'export { greet } from "./greet.js";',
            "src/text/greet.ts": "export const greet = (name: string) => `hi ${name}`;",
            "src/data.json": '{"n": 7}',
            "version.ts": 'export const VERSION = "1.2";',
        },
        main_module="src/index.ts",
    )
    assert worker.get_entrypoint().run(4) == [8, "hi a", "1.2", 7]


def test_a_module_imported_by_two_names_is_one_module(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "main.js": """
                import { next as a } from "./counter";
                import { next as b } from "./counter.js";
                import { next as c } from "/counter";
                export default { run() { return [a(), b(), c()]; } };
            """,
            "counter.js": "let n = 0; export const next = () => ++n;",
        }
    )
    assert worker.get_entrypoint().run() == [1, 2, 3]


def test_packages_load_from_node_modules_through_their_exports(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "worker.ts": """
                import { where } from "tiny";
                import { helper } from "tiny/helpers/strings";
                import scoped from "@acme/util";
                import legacy from "legacy";
                export default { run() { return [where, helper(), scoped, legacy]; } };
            """,
            "node_modules/tiny/package.json": json.dumps(
                {
                    "name": "tiny",
                    "exports": {
                        ".": {"node": "./node.js", "workerd": "./workerd.js", "import": "./esm.js"},
                        "./helpers/*": "./dist/helpers/*.js",
                    },
                }
            ),
            "node_modules/tiny/node.js": 'export const where = "node";',
            "node_modules/tiny/workerd.js": 'export const where = "workerd";',
            "node_modules/tiny/esm.js": 'export const where = "esm";',
            "node_modules/tiny/dist/helpers/strings.js": 'export const helper = () => "helped";',
            "node_modules/tiny/README.md": "# tiny\n",
            "node_modules/tiny/index.d.ts": "export = tiny;",
            "node_modules/@acme/util/package.json": json.dumps(
                {"module": "./esm/index.js", "main": "./cjs.js"}
            ),
            "node_modules/@acme/util/esm/index.js": (
                'import { where } from "tiny"; export default `util+${where}`;'
            ),
            "node_modules/legacy/index.js": 'export default "legacy";',
        },
        main_module="worker.ts",
    )
    assert worker.get_entrypoint().run() == ["workerd", "helped", "util+workerd", "legacy"]


def test_the_nearest_node_modules_folder_wins(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "main.js": """
                import { v } from "dep";
                import { outer } from "wrapper";
                export default { run() { return [v, outer]; } };
            """,
            "node_modules/dep/index.js": "export const v = 2;",
            "node_modules/wrapper/index.js": 'import { v } from "dep"; export const outer = v;',
            "node_modules/wrapper/node_modules/dep/index.js": "export const v = 1;",
        }
    )
    assert worker.get_entrypoint().run() == [2, 1]


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ({"main.js": 'import "./gone";'}, 'main.js: could not resolve import "./gone": no module "gone"'),
        (
            {"a/main.js": 'import "../../up.js";'},
            'a/main.js: could not resolve import "../../up.js": it leads outside',
        ),
        ({"main.js": 'import "left-pad";'}, 'no package "left-pad" in a node_modules folder'),
        (
            {"main.js": 'import "node:fs";'},
            "this Node.js module is not available; the ones offered are assert",
        ),
        (
            {
                "main.js": 'import "p";',
                "secret.js": "export default 1;",
                "node_modules/p/package.json": '{"exports": "./../../secret.js"}',
            },
            'node_modules/p/package.json maps "." to "./../../secret.js", outside the package',
        ),
        (
            {"main.js": 'import "p";', "node_modules/p/package.json": '{"exports": {".": "./dist/p.js"}}'},
            'node_modules/p/package.json maps "." to "./dist/p.js", which is not in the bundle',
        ),
        (
            {
                "main.js": 'import "p/internal";',
                "node_modules/p/package.json": '{"exports": {".": "./p.js"}}',
                "node_modules/p/p.js": "",
                "node_modules/p/internal.js": "",
            },
            'package "p" does not export "./internal"',
        ),
    ],
)
def test_an_import_that_does_not_resolve_is_a_load_error_naming_it(
    loader: dynisolate.Loader, modules: dict[str, str], message: str
) -> None:
    with pytest.raises(dynisolate.LoadError, match=message.replace(".", r"\.").replace("(", r"\(")):
        loader.load(modules)
    assert loader.load({"ok.js": "export default { f() { return 1; } };"}).get_entrypoint().f() == 1


def test_a_changed_package_manifest_is_a_new_bundle(loader: dynisolate.Loader) -> None:
    modules = {
        "main.js": 'import { v } from "p"; export default { run() { return v; } };',
        "node_modules/p/a.js": 'export const v = "a";',
        "node_modules/p/b.js": 'export const v = "b";',
    }
    first = loader.load({**modules, "node_modules/p/package.json": '{"main": "a.js"}'})
    second = loader.load({**modules, "node_modules/p/package.json": '{"main": "b.js"}'})
    assert (first.get_entrypoint().run(), second.get_entrypoint().run()) == ("a", "b")


def test_resolved_imports_hold_in_sessions_and_snapshots(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "main.js": 'import { n } from "./lib"; export default { run() { return n; } };',
            "lib/index.js": "export const n = 5;",
        }
    )
    entry = worker.get_entrypoint()
    assert [entry.run() for _ in range(3)] == [5, 5, 5]  # the second call on maps the evaluated heap
    with worker.session() as session:
        assert session.get_entrypoint().run() == 5


def test_imports_needing_more_links_than_a_bundle_holds_are_a_load_error(loader: dynisolate.Loader) -> None:
    # Each specifier names a.js by a detour QuickJS's own rule does not follow, so every import of
    # every module needs a link: 256 modules x 256 imports, more than the 65,536 entries less the
    # modules themselves (256, main.js and a.js; built-ins are only there when imported).
    imports = "".join(f'import "./x{n}/../a";\n' for n in range(256))
    modules = {"main.js": "export default {};", "a.js": ""} | {f"m{i}.js": imports for i in range(256)}
    with pytest.raises(dynisolate.LoadError, match="65536 names that need resolving; the limit is 65278"):
        loader.load(modules)
    assert loader.load({"ok.js": "export default { f() { return 1; } };"}).get_entrypoint().f() == 1
