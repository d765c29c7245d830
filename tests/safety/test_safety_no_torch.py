"""The safety layer's spaCy import keeps torch out of the process, and torch still works after."""

import subprocess
import sys


def _run(code: str) -> list[str]:
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.split()


def test_check_input_runs_without_importing_torch_and_torch_imports_afterwards():
    out = _run(
        "import sys\n"
        "from assistant.safety import check_input\n"
        "from assistant.records import Turn\n"
        "v = check_input([Turn('user', 'new saddle anaesthesia and urinary retention since this morning')])\n"
        "print(v.escalated, 'torch' in sys.modules)\n"
        "import torch\n"
        "print(float(torch.ones(3).sum()))\n"
    )
    assert out == ["True", "False", "3.0"]


def test_torch_loaded_first_is_left_alone():
    out = _run(
        "import torch, sys\n"
        "import assistant.safety.context\n"
        "import thinc.compat\n"
        "print(thinc.compat.has_torch, sys.modules['torch'] is torch)\n"
    )
    assert out == ["True", "True"]
