//! The shape of the core, checked on its sources: no import cycle between its top-level modules,
//! nor between the sibling modules of any folder (a parent module owns its children, so edges
//! between a module and its ancestors do not count); and none of the dependencies that belong
//! to adapters (HTTP clients, SQLite, AWS, Lambda).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path under `crate`, e.g. `["usecases", "reply"]`.
type Module = Vec<String>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/usecases/reply.rs` → `usecases::reply`; `src/http/mod.rs` → `http`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Module = relative
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments and without its unit-test module (kept at the end of a file).
fn code(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a use tree (`crate::a::{b, c::{d, e}}`) into its paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        out.push(format!("{prefix}{path}"));
        return;
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&head, &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand(&head, &inner[start..], out);
    }
}

/// Every path the code names that starts with `crate::` or `super::`, resolved to `crate::`.
fn referenced_paths(module: &Module, is_mod_file: bool, code: &str) -> Vec<Module> {
    let mut raw = Vec::new();
    // `use` items, with their trees.
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        expand("", &rest[..end], &mut raw);
        rest = &rest[end..];
    }
    // Paths written inline.
    for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        if word.starts_with("crate::") || word.starts_with("super::") {
            raw.push(word.to_string());
        }
    }
    // A mod.rs file is its module; `super` is the parent of the module either way.
    let parent: Module = if is_mod_file || module.is_empty() {
        module[..module.len().saturating_sub(1)].to_vec()
    } else {
        module[..module.len() - 1].to_vec()
    };
    raw.iter()
        .filter_map(|path| {
            let mut parts = path.split("::").filter(|p| !p.is_empty());
            let base: Module = match parts.next()? {
                "crate" => Vec::new(),
                "super" => parent.clone(),
                _ => return None,
            };
            let mut resolved = base;
            let mut parts = parts.peekable();
            while parts.peek() == Some(&"super") {
                parts.next();
                resolved.pop();
            }
            resolved.extend(parts.map(str::to_string));
            Some(resolved)
        })
        .collect()
}

/// The module a path lands in: its longest prefix that is a module of the crate.
fn target(path: &Module, modules: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_core_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    // Edges between top-level modules, and between siblings of each folder.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut siblings: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut edges = 0;
    for file in &files {
        let module = module_of(&src, file);
        let is_mod_file = file.file_stem().is_some_and(|s| s == "mod" || s == "lib");
        let text = std::fs::read_to_string(file).expect("read");
        for path in referenced_paths(&module, is_mod_file, &code(&text)) {
            let Some(to) = target(&path, &modules) else {
                continue;
            };
            edges += 1;
            if let (Some(a), Some(b)) = (module.first(), to.first())
                && a != b
            {
                top.entry(a.clone()).or_default().insert(b.clone());
            }
            // The children of the deepest folder both lie in.
            let common = module.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < module.len() && common < to.len() {
                let (from_child, to_child) = (&module[common], &to[common]);
                siblings
                    .entry(module[..common].to_vec())
                    .or_default()
                    .entry(from_child.clone())
                    .or_default()
                    .insert(to_child.clone());
            }
        }
    }
    assert!(edges > 200, "the parser found only {edges} imports");
    assert!(
        top.get("usecases").is_some_and(|t| t.contains("jobs")),
        "the parser misses known edges: {top:?}"
    );
    if let Some(c) = cycle(&top) {
        panic!("import cycle between the core's modules: {}", c.join(" → "));
    }
    for (folder, graph) in &siblings {
        if let Some(c) = cycle(graph) {
            panic!(
                "import cycle inside crate::{}: {}",
                folder.join("::"),
                c.join(" → ")
            );
        }
    }
}

#[test]
fn the_core_depends_on_no_adapter() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("manifest");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|d| d.split("\n[").next())
        .expect("dependencies");
    for adapter in [
        "reqwest", "hyper", "rusqlite", "aws-", "lambda", "lettre", "rmcp",
    ] {
        assert!(
            !dependencies
                .lines()
                .any(|l| l.trim_start().starts_with(adapter)),
            "the core depends on {adapter}"
        );
    }
}
