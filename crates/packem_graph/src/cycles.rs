//! Import cycle detection: Tarjan's strongly connected components over non-dynamic edges.

use crate::{EdgeTarget, ModuleId, ModuleNode};
use packem_parse::ImportKind;

/// Whether an edge takes part in evaluation order (dynamic imports run later; assets never).
fn is_eager(kind: ImportKind) -> bool {
    matches!(kind, ImportKind::Static | ImportKind::ReExport | ImportKind::ExportStar | ImportKind::Require)
}

fn successors(module: &ModuleNode) -> impl Iterator<Item = ModuleId> + '_ {
    module.edges.iter().filter(|e| is_eager(e.kind)).filter_map(|e| match e.target {
        EdgeTarget::Module(id) => Some(id),
        _ => None,
    })
}

/// Each cycle once, as a concrete path of modules through its strongly connected component,
/// starting at the component's lowest id (so the result does not depend on traversal details).
pub(crate) fn find_cycles(modules: &[ModuleNode]) -> Vec<Vec<ModuleId>> {
    let components = strongly_connected(modules);
    let mut cycles = Vec::new();
    for component in components {
        let start = *component.iter().min().expect("components are non-empty");
        let self_loop = successors(&modules[start.index()]).any(|s| s == start);
        if component.len() == 1 && !self_loop {
            continue;
        }
        let mut in_component = vec![false; modules.len()];
        for id in &component {
            in_component[id.index()] = true;
        }
        cycles.push(shortest_cycle(modules, start, &in_component));
    }
    cycles.sort();
    cycles
}

/// Shortest path `start → … → start` inside one component (breadth-first).
fn shortest_cycle(modules: &[ModuleNode], start: ModuleId, in_component: &[bool]) -> Vec<ModuleId> {
    let mut parent: Vec<Option<ModuleId>> = vec![None; modules.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(id) = queue.pop_front() {
        for next in successors(&modules[id.index()]) {
            if next == start {
                let mut path = vec![id];
                let mut cursor = id;
                while cursor != start {
                    cursor = parent[cursor.index()].expect("visited nodes have parents");
                    path.push(cursor);
                }
                path.reverse();
                return path;
            }
            if in_component[next.index()] && parent[next.index()].is_none() && next != start {
                parent[next.index()] = Some(id);
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

/// Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
fn strongly_connected(modules: &[ModuleNode]) -> Vec<Vec<ModuleId>> {
    const UNVISITED: u32 = u32::MAX;
    let n = modules.len();
    let mut index = vec![UNVISITED; n];
    let mut lowlink = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<ModuleId> = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0u32;
    let succ: Vec<Vec<ModuleId>> = modules.iter().map(|m| successors(m).collect()).collect();

    for root in 0..n {
        if index[root] != UNVISITED {
            continue;
        }
        // (node, next successor position)
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        lowlink[root] = counter;
        counter += 1;
        stack.push(ModuleId(root as u32));
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = work.last_mut() {
            if let Some(&w) = succ[v].get(*pos) {
                *pos += 1;
                let w = w.index();
                if index[w] == UNVISITED {
                    index[w] = counter;
                    lowlink[w] = counter;
                    counter += 1;
                    stack.push(ModuleId(w as u32));
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    lowlink[v] = lowlink[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    lowlink[parent] = lowlink[parent].min(lowlink[v]);
                }
                if lowlink[v] == index[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        on_stack[w.index()] = false;
                        component.push(w);
                        if w.index() == v {
                            break;
                        }
                    }
                    components.push(component);
                }
            }
        }
    }
    components
}
