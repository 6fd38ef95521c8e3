"""The STAMP file a fixture script leaves in the folder it wrote, so that rerunning it is free.

    if stamp.is_current(out, STAMP):
        return 0
    ...write everything...
    stamp.mark(out, STAMP)   # last: an interrupted run leaves no stamp, and the next one starts over
"""
import os


def is_current(folder, want):
    """True (and says so) when `folder` was completely written by the script version `want` names."""
    path = os.path.join(folder, "STAMP")
    if os.path.exists(path) and open(path).read() == want:
        print(f"{folder}: up to date ({want})")
        return True
    return False


def mark(folder, want):
    with open(os.path.join(folder, "STAMP"), "w") as f:
        f.write(want)
