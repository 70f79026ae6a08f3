"""What a check knows about one file: parents, scopes, and where names come from.

Why: the NaN-prone line rarely holds the whole story (`p = F.softmax(z)` three
lines above `torch.log(p)`, `self.p_y_given_x` set in `__init__` and logged in
another method). A single pass records simple assignments per function scope and
`self.x = ...` per class, so checks can follow a name back to its value. It is
deliberately simple: the latest assignment before the use, no branches, no calls.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nansentry.lint.syntax import MODULE_ROOTS, callee, dotted, root

_Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_FRAMEWORKS = {"torch": "torch", "tensorflow": "tf", "keras": "keras", "theano": "theano",
               "jax": "jax", "numpy": "numpy", "optax": "jax", "tf_keras": "keras"}
_DEFAULT_ALIASES = {"torch": "torch", "F": "torch", "nn": "torch", "optim": "torch", "tf": "tf",
                    "K": "keras", "keras": "keras", "layers": "keras", "T": "theano",
                    "theano": "theano", "jnp": "jax", "jax": "jax", "np": "numpy", "numpy": "numpy"}
_TUPLE_RESULTS = {"moments": ("mean", "reduce_variance"), "var_mean": ("var", "mean"),
                  "std_mean": ("std", "mean")}
_TOP = (0, 0)


class Choice(ast.expr):
    """A loop variable over a literal list: any of `elts` (`for a in [tf.nn.relu, tf.tanh]`)."""

    _fields = ("elts",)


@dataclass(frozen=True)
class Binding:
    """`value` is what the name holds from source position `pos` on (None: unknown)."""

    pos: tuple[int, int]
    value: ast.expr | None


def _pos(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


class Context:
    """One parsed file and the facts the checks share about it."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.tree = tree
        self.imports: dict[str, str] = {}
        self._parent: dict[int, ast.AST] = {}
        self._scope: dict[int, _Scope] = {}
        self._class: dict[int, ast.ClassDef | None] = {}
        self._outer: dict[int, _Scope | None] = {id(tree): None}
        self._bindings: dict[tuple[int, str], list[Binding]] = {}
        self._visit(tree, tree, None)
        self._all = list(ast.walk(tree))  # walked once; every check filters this list
        self.classes = {c.name: c for c in self._all if isinstance(c, ast.ClassDef)}
        self.modules = MODULE_ROOTS | frozenset(self.imports)

    # -- building ---------------------------------------------------------------
    def _visit(self, node: ast.AST, scope: _Scope, cls: ast.ClassDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            self._parent[id(child)] = node
            self._scope[id(child)] = scope
            self._class[id(child)] = cls
            self._record(child, scope, cls)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self._outer[id(child)] = scope
                for a in child.args.posonlyargs + child.args.args + child.args.kwonlyargs:
                    self._bind(child, a.arg, _TOP, None)
                self._visit(child, child, cls)
            elif isinstance(child, ast.ClassDef):
                self._visit(child, scope, child)
            else:
                self._visit(child, scope, cls)

    def _bind(self, scope: ast.AST, name: str, pos: tuple[int, int], value: ast.expr | None) -> None:
        self._bindings.setdefault((id(scope), name), []).append(Binding(pos, value))

    def _record(self, node: ast.AST, scope: _Scope, cls: ast.ClassDef | None) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            base = node.module + "." if isinstance(node, ast.ImportFrom) and node.module else ""
            for alias in node.names:
                self.imports[(alias.asname or alias.name).split(".")[0]] = base + alias.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._target(target, node.value, _end(node), scope, cls)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            self._target(node.target, node.value, _end(node), scope, cls)
        elif isinstance(node, (ast.For, ast.comprehension)):
            self._loop(node.target, node.iter, scope)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not self._under_no_grad(node):
            self._inplace(node.value, scope)

    def _target(self, target: ast.expr, value: ast.expr, pos: tuple[int, int],
                scope: _Scope, cls: ast.ClassDef | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(scope, target.id, pos, value)
        elif isinstance(target, ast.Attribute) and root(target) == "self" and cls is not None:
            self._bind(cls, dotted(target) or "", _TOP, value)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            # `x[mask] = v` behaves like `x = x.masked_fill(mask, v)`.
            fill = ast.Call(func=ast.Attribute(value=target.value, attr="masked_fill", ctx=ast.Load()),
                            args=[target.slice, value], keywords=[])
            ast.copy_location(fill, target)
            self._bind(scope, target.value.id, pos, fill)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._unpack(target, value, pos, scope, cls)

    def _unpack(self, target: ast.Tuple | ast.List, value: ast.expr, pos: tuple[int, int],
                scope: _Scope, cls: ast.ClassDef | None) -> None:
        names = _TUPLE_RESULTS.get(callee(value)) if isinstance(value, ast.Call) else None
        for i, elt in enumerate(target.elts):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                self._target(elt, value.elts[i], pos, scope, cls)
            elif names and i < len(names) and isinstance(elt, ast.Name) and isinstance(value, ast.Call):
                synthetic = ast.copy_location(ast.Call(func=ast.Name(id=names[i], ctx=ast.Load()),
                                                       args=value.args[:1], keywords=[]), value)
                self._bind(scope, elt.id, pos, synthetic)
            elif isinstance(elt, ast.Name):
                self._bind(scope, elt.id, pos, None)

    def _loop(self, target: ast.expr, iterable: ast.expr, scope: _Scope) -> None:
        items = iterable.elts if isinstance(iterable, (ast.List, ast.Tuple)) else None
        names = [target] if isinstance(target, ast.Name) else getattr(target, "elts", [])
        for i, name in enumerate(names):
            if not isinstance(name, ast.Name):
                continue
            if items is None:
                self._bind(scope, name.id, _TOP, None)
                continue
            picks = [it if isinstance(target, ast.Name) else
                     (it.elts[i] if isinstance(it, (ast.Tuple, ast.List)) and i < len(it.elts) else None)
                     for it in items]
            self._bind(scope, name.id, _TOP, Choice(elts=[p for p in picks if p is not None]))

    def _inplace(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr.endswith("_") and isinstance(func.value, ast.Name):
            self._bind(scope, func.value.id, _end(call), call)

    def _under_no_grad(self, node: ast.AST) -> bool:
        """Inside `with torch.no_grad():`, where an in-place clamp changes values, not the graph."""
        parent = self._parent.get(id(node))
        while parent is not None:
            if isinstance(parent, ast.With) and any("no_grad" in ast.unparse(i.context_expr) for i in parent.items):
                return True
            parent = self._parent.get(id(parent))
        return False

    # -- queries ----------------------------------------------------------------
    def parent(self, node: ast.AST) -> ast.AST | None:
        """The syntactic parent of `node` (None for the module)."""
        return self._parent.get(id(node))

    def resolve(self, node: ast.AST) -> ast.expr | None:
        """The value a name or `self.attr` holds where `node` reads it; None if unknown."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            cls = self._class.get(id(node))
            found = self._bindings.get((id(cls), dotted(node) or ""), []) if cls else []
            return found[-1].value if found else None
        if not isinstance(node, ast.Name):
            return None
        scope: _Scope | None = self._scope.get(id(node))
        here = _pos(node)
        while scope is not None:
            found = self._bindings.get((id(scope), node.id))
            if found:
                before = [b for b in found if b.pos <= here] if scope is self._scope.get(id(node)) else found
                return before[-1].value if before else None
            scope = self._outer.get(id(scope))
        return None

    def follow(self, node: ast.AST) -> ast.expr | None:
        """What a subscript or name stands for: `x[i]` -> `x`, `p` -> its assigned value."""
        if isinstance(node, ast.Subscript):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.resolve(node)
        return None

    def framework(self, node: ast.AST) -> str:
        """`torch`, `tf`, `keras`, `theano`, `jax`, `numpy` or "" for the call's namespace."""
        name = root(node.func) if isinstance(node, ast.Call) else root(node)
        if name in self.imports:
            full = self.imports[name]
            if "keras" in full:
                return "keras"
            return _FRAMEWORKS.get(full.split(".")[0], "")
        if name in _DEFAULT_ALIASES:
            return _DEFAULT_ALIASES[name]
        return self.default_framework()

    def default_framework(self) -> str:
        """The file's framework by its imports; torch when it imports none."""
        for full in self.imports.values():
            top = full.split(".")[0]
            if "keras" in full:
                return "keras"
            if top in _FRAMEWORKS and top != "numpy":
                return _FRAMEWORKS[top]
        return "torch"

    def is_safe_op(self, call: ast.Call) -> bool:
        """A call into `nansentry.safe` (`safe.log(p)`, `nansentry.safe.acos(c)`)."""
        name = dotted(call.func) or ""
        head = name.split(".")[0]
        full = self.imports.get(head, head) + name[len(head):]
        return full.startswith(("nansentry.safe.", "safe."))

    def nodes(self, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> list:
        """Every node of a type, in source order."""
        return [n for n in self._all if isinstance(n, kind)]
