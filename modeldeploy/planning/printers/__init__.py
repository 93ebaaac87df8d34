"""Three views of the same plans: Terraform-like text, a GitHub PR comment (markdown), versioned JSON.

All three are pure and deterministic (identical plans → identical bytes; no clock) and all of them
redact again on the way out: declared sensitive paths, secret-looking env values and URL passwords
in before/after, the same in diff text. See docs/plan.md for the formats.

One module per view (``text``, ``markdown``, ``jsonplan``) over what they share (``common``); the names
callers use are re-exported here.
"""

from __future__ import annotations

from modeldeploy.planning.printers.common import lease_line as lease_line
from modeldeploy.planning.printers.common import model_line as model_line
from modeldeploy.planning.printers.common import summary as summary
from modeldeploy.planning.printers.common import summary_line as summary_line
from modeldeploy.planning.printers.common import way_forward as way_forward
from modeldeploy.planning.printers.jsonplan import FORMAT_VERSION as FORMAT_VERSION
from modeldeploy.planning.printers.jsonplan import format_json as format_json
from modeldeploy.planning.printers.jsonplan import plan_to_json as plan_to_json
from modeldeploy.planning.printers.jsonplan import resource_changes as resource_changes
from modeldeploy.planning.printers.markdown import GITHUB_COMMENT_LIMIT as GITHUB_COMMENT_LIMIT
from modeldeploy.planning.printers.markdown import MARKDOWN_BUDGET as MARKDOWN_BUDGET
from modeldeploy.planning.printers.markdown import format_markdown as format_markdown
from modeldeploy.planning.printers.text import format_text as format_text
