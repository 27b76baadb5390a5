"""How the tools under tools/ leave their results: JSON for scripts, markdown for people."""

import json
import os


def write_report(out_dir, stem, payload, lines):
    """Write ``payload`` to ``out_dir/stem.json`` and ``lines`` to ``out_dir/stem.md``; print the lines.

    Each file is written whole or not at all (``kerasdil.export._files.write_text``).
    """
    from kerasdil.export._files import write_text

    os.makedirs(out_dir, exist_ok=True)
    write_text(os.path.join(out_dir, f"{stem}.json"), json.dumps(payload, indent=2))
    write_text(os.path.join(out_dir, f"{stem}.md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
