"""JSON Merge Patch (RFC 7396): a patch names only what changes; null removes a member."""

from __future__ import annotations


def merge_patch(target, patch):
    """Apply `patch` to `target` as RFC 7396 section 2 defines it; neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result
