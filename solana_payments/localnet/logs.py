"""Program logs as real nodes print them, where LiteSVM's bundled programs differ.

The Memo program LiteSVM ships prints its signers and its text over two lines each
(``Signed by:`` / ``<address>``, ``Memo (len 8)`` / ``order 42``). The deployed one prints one line each:
``Signed by <address>`` and ``Memo (len 8): "order 42"``, the text quoted and escaped as Rust's ``{:?}``
does. Explorers, wallets and Solana Pay read memos from those lines, so the local chain rewrites them.
"""

import unicodedata

from .encoding import MEMO_PROGRAM

MEMO_PROGRAMS = (str(MEMO_PROGRAM),)  # the v1 program writes no log
LOG = "Program log: "
ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def node_logs(logs):
    """``logs`` (a list of strings) with the Memo program's lines as the deployed program writes them."""
    out, depth_in_memo, index = [], [], 0
    while index < len(logs):
        line = logs[index]
        following = logs[index + 1] if index + 1 < len(logs) else None
        if line.startswith("Program ") and " invoke [" in line:
            depth_in_memo.append(line.split(" ")[1] in MEMO_PROGRAMS)
        elif line.endswith((" success", " failed")) or " failed: " in line:
            if depth_in_memo and not line.startswith(LOG):
                depth_in_memo.pop()
        elif depth_in_memo and depth_in_memo[-1] and following is not None and following.startswith(LOG):
            if line == LOG + "Signed by:":
                out.append(f"{LOG}Signed by {following.removeprefix(LOG)}")
                index += 2
                continue
            if line.startswith(LOG + "Memo (len ") and line.endswith(")"):
                out.append(f"{line}: {rust_debug(following.removeprefix(LOG))}")
                index += 2
                continue
        out.append(line)
        index += 1
    return out


def rust_debug(text):
    """``text`` as Rust's ``format!("{:?}", text)`` writes a ``&str``."""
    parts = []
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if char in ESCAPES:
            parts.append(ESCAPES[char])
        elif (
            category in UNPRINTABLE
            or (category == "Zs" and char != " ")
            or (position == 0 and category in ("Mn", "Me"))
        ):
            parts.append(f"\\u{{{ord(char):x}}}")
        else:
            parts.append(char)
    return '"' + "".join(parts) + '"'
