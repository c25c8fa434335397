"""Commands that answer out loud, for tests/test_speech.py: each call appends one JSON line to
$VA_RECORDER_FILE (as recorder.py does) and returns $VA_TALKER_REPLY, the text va then speaks."""

import json
import os
import time


def what_time_is_it():
    "Say the time."
    with open(os.environ["VA_RECORDER_FILE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"name": "what_time_is_it", "at": time.monotonic()}) + "\n")
    return os.environ["VA_TALKER_REPLY"]
