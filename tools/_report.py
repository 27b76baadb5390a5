"""How the tools under tools/ leave their results: JSON for scripts, markdown for people."""

import json
import os


def write_report(out_dir, stem, payload, lines):
    """Write ``payload`` to ``out_dir/stem.json`` and ``lines`` to ``out_dir/stem.md``; print the lines."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump(payload, f, indent=2)
    with open(os.path.join(out_dir, f"{stem}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
