"""The committed OpenAPI document (saylau/ingest/openapi.json).

Regenerate it with `python -m saylau.ingest.gateway.openapi`.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from saylau.core.settings import load_settings

OPENAPI_PATH = Path(__file__).parents[1] / "openapi.json"
REGISTRY_COLUMNS = ["station_id", "region_code", "registered_voters", "settlement", "address"]


def document() -> dict[str, Any]:
    """The app's document; built with throw-away settings (it depends on no setting)."""
    from saylau.ingest.gateway.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(data_dir=Path(folder),
                                 gateway_token_pepper=secrets.token_hex(16))
        app = create_app(settings, registry=pd.DataFrame(columns=REGISTRY_COLUMNS))
        schema = app.openapi()
        app.state.gateway.tokens.close()
        return schema


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
