"""Checks an impl.py before it is built, so mistakes come back as `file:line: what to do`.

Usage: python check_impl.py IMPL.py [PART.py ...]
PARTs are more files of the same flow (Sym's `on_change` file): checked alike, their
handlers join the impl's. Prints one problem per line and exits 1 if there are any; prints
the handlers it found and exits 0 otherwise.
"""

import ast
import os
import sys

REDUCERS = (
    "get_permissions", "get_request_notifications", "get_approvers", "get_identity", "get_timeout",
    "get_flows",
)
STEPS = ("prompt", "request", "approve", "deny", "escalate", "deescalate", "request_forward", "request_expire")
HOOKS = tuple(f"on_{s}" for s in STEPS) + tuple(f"after_{s}" for s in STEPS)

# Standard-library modules that cannot work in the sandbox: no native extensions, threads,
# processes or network.
UNUSABLE = {
    "ssl": "TLS is not available in the sandbox",
    "ctypes": "native code cannot be loaded in the sandbox",
    "subprocess": "plugins cannot start processes",
    "multiprocessing": "plugins cannot start processes",
    "threading": "plugins run on one thread",
    "socket": "plugins have no network access",
    "asyncio": "plugins run synchronously, without an event loop",
}
# Parts of Sym's SDK that reach an outside system Assent does not call yet: named
# here so the build says which Sym feature a file needs instead of failing on an import.
_INTEGRATION = "Sym's {} integration (`sym.sdk.integrations.{}`)"
NOT_PROVIDED_MODULES = {
    f"sym.sdk.integrations.{module}": _INTEGRATION.format(label, module)
    for module, label in {
        "aws_sso": "AWS IAM Identity Center",
        "aws_iam": "AWS IAM",
        "github": "GitHub",
        "google": "Google",
        "jira": "Jira",
        "knowbe4": "KnowBe4",
        "onelogin": "OneLogin",
        "boundary": "Boundary",
    }.items()
}
NOT_PROVIDED_MODULES["sym.sdk.resource"] = "Sym's resource names (`sym.sdk.resource.SRN`)"
# Functions reached as attributes of a module (`slack.send_message(...)`), by module and name.
NOT_PROVIDED_CALLS = {
    "slack.send_message": "Slack messages from a plugin (`slack.send_message`)",
    "slack.send_thread_message": "Slack thread replies from a plugin (`slack.send_thread_message`)",
    "slack.get_user_info": "Slack profile lookups (`slack.get_user_info`)",
    "slack.users_in_channel": "Slack channel membership (`slack.users_in_channel`)",
    "slack.is_user_in_group": "Slack user-group membership (`slack.is_user_in_group`)",
    "slack.list_users": "Slack user listings (`slack.list_users`)",
}
# Third-party packages the SDK provides a compatible subset of.
PROVIDED_PACKAGES = {"requests"}
# Names that are Sym functions even when called bare (imported into the file's namespace).
# (None today: the user directory's functions are provided.)
NOT_PROVIDED_NAMES = set()


def imports(node):
    """For an import statement, the modules it imports and the `M.x` of each `from M import x`
    (which may be a module, as in `from sym.sdk.integrations import okta`); else None."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names], []
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module], [f"{node.module}.{alias.name}" for alias in node.names]
    return None


def sym_name_used(node):
    """The key of NOT_PROVIDED_CALLS that `node` may use, if any."""
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name):
            return f"{node.value.id}.{node.attr}"
        return node.attr
    if isinstance(node, ast.Name) and node.id in NOT_PROVIDED_NAMES:
        return node.id
    return None


def not_provided(name, node, line, feature):
    return f"{name}:{node.lineno}: `{line}`: needs {feature}, which Assent does not provide yet"

# Third-party packages a Sym impl.py may import that Assent plugins cannot have.
NOT_BUNDLED_HINT = "only the standard library, `sym.sdk` and `requests` (through an `http` integration) are available to plugins"


def check(path):
    """The problems of one file, and the functions and strategy classes it defines."""
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as source_file:
            source = source_file.read()
    except OSError as error:
        return [f"{name}: cannot read the file: {error.strerror}"], set(), []
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as error:
        return [f"{name}:{error.lineno}: syntax error: {error.msg}"], set(), []

    problems = []
    local = {os.path.splitext(f)[0] for f in os.listdir(directory) if f.endswith(".py")}
    local |= {f for f in os.listdir(directory) if os.path.isdir(os.path.join(directory, f))}
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    for node in ast.walk(tree):
        found = imports(node)
        if found is None:
            feature = NOT_PROVIDED_CALLS.get(sym_name_used(node))
            if feature:
                line = ast.get_source_segment(source, node) or sym_name_used(node)
                problems.append(not_provided(name, node, line, feature))
            continue
        modules, members = found
        line = ast.get_source_segment(source, node) or f"import {modules[0]}"
        missing = [m for m in modules + members if m in NOT_PROVIDED_MODULES]
        problems += [not_provided(name, node, line, NOT_PROVIDED_MODULES[m]) for m in missing]
        if missing:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in UNUSABLE:
                problems.append(f"{name}:{node.lineno}: `{line}`: {UNUSABLE[top]}")
            elif top == "sym" or top in PROVIDED_PACKAGES or top in local or top in stdlib:
                continue
            else:
                problems.append(
                    f"{name}:{node.lineno}: `{line}`: `{top}` is not available in the sandbox; {NOT_BUNDLED_HINT}"
                )

    functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    strategies = [
        n.name
        for n in tree.body
        if isinstance(n, ast.ClassDef)
        and any(getattr(base, "id", getattr(base, "attr", None)) == "AccessStrategy" for base in n.bases)
    ]
    return problems, functions, strategies


def main(path, parts=()):
    problems, functions, strategies = check(path)
    for part in parts:
        more, defined, classes = check(part)
        problems += more
        functions |= defined
        strategies += classes
    name = os.path.basename(path)
    handlers = [h for h in REDUCERS + HOOKS if h in functions]
    if strategies:
        handlers += ["fetch_remote_identity", "escalate", "deescalate"]
    only_filter = "get_flows" in functions and not set(handlers) - {"get_flows"}
    if "get_permissions" not in functions and "get_approvers" not in functions and not strategies and not only_filter:
        if any(function.startswith("on_change_") for function in functions):
            hint = f"; an `on_change` file is built with its flow: `assent plugin build impl.py --with {name}`"
        else:
            hint = " (a flows filter defines `get_flows` instead)"
        problems.append(
            f"{name}: defines no `get_permissions` (or legacy `get_approvers`) reducer, which every flow "
            f"needs{hint}"
        )
    if problems:
        print("\n".join(problems))
        return 1
    print(" ".join(handlers))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
