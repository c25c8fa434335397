"""The recognition corpus (bench/corpus) is what the issues ask for and agrees with its commands.

No model and no synthesiser: the manifest, the committed FLAC headers and bench/corpus/commands.py
(the tune, heldout and dev splits) and household.py (the room splits of issue 20).
"""

import enum
import importlib.util
import inspect
import json
import typing
from collections import Counter
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpus"
NEGATIVE_KINDS = {"no_keyword", "keyword_not_first", "unregistered", "conversation", "talker_alone", "noise_alone"}
CONDITIONS = {"clean", "noise", "talker", "reverb"}
ROOM_SPLITS = ("roomtune", "roomheldout")
ROOM_CONDITIONS = CONDITIONS | {"tv"}
ROOM_NEGATIVE_KINDS = NEGATIVE_KINDS | {"tv_alone"}


@pytest.fixture(scope="module")
def everything():
    return json.loads((CORPUS / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifest(everything):
    """The splits of issue 11 (commands.py)."""
    return [e for e in everything if e["split"] not in ROOM_SPLITS]


@pytest.fixture(scope="module")
def rooms(everything):
    """The room splits of issue 20 (household.py)."""
    return [e for e in everything if e["split"] in ROOM_SPLITS]


def _module(file):
    spec = importlib.util.spec_from_file_location(f"corpus_{file[:-3]}", CORPUS / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def commands():
    return _module("commands.py")


def _flac_format(path: Path):
    """(sample rate, channels, bits) from the FLAC STREAMINFO block."""
    head = path.read_bytes()[:42]
    assert head[:4] == b"fLaC" and head[4] & 0x7F == 0, f"{path.name}: not FLAC"
    info = int.from_bytes(head[18:26], "big")
    return info >> 44, ((info >> 41) & 0x7) + 1, ((info >> 36) & 0x1F) + 1


def test_every_clip_is_a_16k_mono_flac_and_the_corpus_is_small(everything):
    sizes = 0
    for entry in everything:
        path = CORPUS / entry["file"]
        assert path.is_file(), entry["file"]
        assert _flac_format(path) == (16000, 1, 16), entry["file"]
        sizes += path.stat().st_size
    assert sizes < 50 * 2**20
    assert len({entry["file"] for entry in everything}) == len(everything)
    assert {path.name for path in (CORPUS / "clips").glob("*.flac")} == {e["file"][len("clips/"):] for e in everything}


def test_counts_reach_the_goals(manifest):
    positives = [e for e in manifest if e["expected"] is not None]
    negatives = [e for e in manifest if e["expected"] is None]
    assert len(positives) >= 300 and len(negatives) >= 60
    assert len({e["expected"]["command"] for e in positives}) >= 20
    assert len({e["voice"] for e in positives}) >= 6
    assert {e["condition"] for e in positives} == CONDITIONS
    assert {e["condition"] for e in negatives} == NEGATIVE_KINDS
    for split in ("tune", "heldout", "dev"):
        assert {e["condition"] for e in manifest if e["split"] == split} == CONDITIONS | NEGATIVE_KINDS
    heldout = [e for e in manifest if e["split"] == "heldout"]
    assert len([e for e in heldout if e["expected"]]) >= 216 and len(heldout) - len([e for e in heldout if e["expected"]]) >= 48
    assert all(e["split"] in ("tune", "heldout", "dev") for e in manifest)


def test_heldout_differs_from_the_tuning_splits_in_voices_and_phrasings(manifest):
    def spoken(split, key):
        return {e[key] for e in manifest if e["split"] == split and e["text"]}

    def phrasings(split):
        return {(e["expected"]["command"], e["phrasing"]) for e in manifest if e["split"] == split and e["expected"]}

    assert len(spoken("tune", "voice")) >= 2 and len(spoken("heldout", "voice")) >= 4 and len(spoken("dev", "voice")) >= 2
    for tuning in ("tune", "dev"):  # both are tuned on; the held-out split shares nothing with either
        assert not spoken(tuning, "voice") & spoken("heldout", "voice")
        assert not spoken(tuning, "text") & spoken("heldout", "text")
        assert phrasings(tuning) and phrasings("heldout") and not phrasings(tuning) & phrasings("heldout")


def test_negatives_never_expect_a_command_and_positives_say_the_keyword_first(manifest):
    for entry in manifest:
        if entry["expected"] is None:
            assert entry["condition"] in NEGATIVE_KINDS
        else:
            assert entry["condition"] in CONDITIONS and entry["text"].split()[0] == "computer", entry["file"]


def _accepts(annotation, value) -> bool:
    if typing.get_origin(annotation) is typing.Literal:
        return value in typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return value in {member.value for member in annotation}
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value) is annotation


@pytest.mark.parametrize("file", ["commands.py", "household.py"])
def test_expected_calls_bind_to_the_command_functions(everything, file):
    commands = _module(file)
    room = file == "household.py"
    hints_of = {}
    for entry in (e for e in everything if e["expected"] is not None and (e["split"] in ROOM_SPLITS) == room):
        name, args = entry["expected"]["command"], entry["expected"]["args"]
        function = getattr(commands, name, None)
        assert inspect.isfunction(function) and function.__module__ == commands.__name__, name
        signature = inspect.signature(function)
        signature.bind(**args)  # raises on a missing or unknown argument
        assert set(args) == set(signature.parameters), f"{entry['file']}: every argument, defaults included"
        hints = hints_of.setdefault(name, typing.get_type_hints(function))
        for arg, value in args.items():
            assert _accepts(hints[arg], value), f"{entry['file']}: {arg}={value!r} is not a {hints[arg]}"


def test_the_room_splits_hold_out_talkers_voices_music_phrasings_and_values(rooms):
    def used(split, key):
        return {e[key] for e in rooms if e["split"] == split and e.get(key)}

    def phrasings(split):
        return {(e["expected"]["command"], e["phrasing"]) for e in rooms if e["split"] == split and e["expected"]}

    def free_text(split):
        return {v for e in rooms if e["split"] == split and e["expected"]
                for v in e["expected"]["args"].values() if isinstance(v, str)}

    assert len(used("roomtune", "talker") | used("roomheldout", "talker")) >= 5
    assert len(used("roomheldout", "talker")) >= 4 and "allison" not in used("roomheldout", "talker")
    for key in ("talker", "music", "text"):
        assert used("roomtune", key) and used("roomheldout", key)
        assert not used("roomtune", key) & used("roomheldout", key), key
    spoken = {e["voice"] for e in rooms if e["split"] == "roomheldout" and e["text"]}
    assert len(spoken) >= 4 and not spoken & {e["voice"] for e in rooms if e["split"] == "roomtune" and e["text"]}
    assert not phrasings("roomtune") & phrasings("roomheldout")
    assert free_text("roomheldout") and not free_text("roomtune") & free_text("roomheldout")


def test_the_room_splits_have_every_condition_each_talker_at_6_to_15_db(rooms):
    for split in ROOM_SPLITS:
        mine = [e for e in rooms if e["split"] == split]
        assert {e["condition"] for e in mine if e["expected"]} == ROOM_CONDITIONS
        assert {e["condition"] for e in mine if not e["expected"]} == ROOM_NEGATIVE_KINDS
        mixed = [e for e in mine if e["mix"] in ("talker", "tv")]
        assert all(5.5 <= e["snr_db"] <= 15.5 for e in mixed if e["expected"])
        for talker in {e["talker"] for e in mixed}:
            snrs = {round(e["snr_db"]) for e in mixed if e["talker"] == talker and e["expected"]}
            assert min(snrs) <= 7 and max(snrs) >= 14, (talker, snrs)
    heldout = [e for e in rooms if e["split"] == "roomheldout" and e["expected"]]
    assert len(heldout) >= 150 and all(sum(e.get("talker") == t for e in heldout) >= 15
                                       for t in {e.get("talker") for e in heldout} - {None})


def test_the_commands_cover_every_kind_of_parameter(commands):
    functions = [f for _, f in inspect.getmembers(commands, inspect.isfunction) if f.__module__ == commands.__name__]
    assert len(functions) >= 20
    kinds = Counter()
    for function in functions:
        hints = typing.get_type_hints(function)
        hints.pop("return", None)
        assert len(hints) <= 3
        kinds.update("literal" if typing.get_origin(h) is typing.Literal else
                     "enum" if isinstance(h, type) and issubclass(h, enum.Enum) else h.__name__ for h in hints.values())
    assert {"int", "float", "bool", "str", "literal", "enum"} <= set(kinds)


# --- the bench's decision for each path (bench/recognition.py), on replies made by hand


@pytest.fixture(scope="module")
def client():
    from bench.recognition import Client

    return Client(CORPUS / "commands.py")


def _reply(text, reading=None):
    from va.protocol import Reading, Transcript

    return Transcript(text, 0, reading=Reading.from_dict(reading) if reading is not None else None)


def test_without_a_reading_the_bench_runs_what_the_clients_matcher_reads_in_the_transcript(client):
    from bench.recognition import same_call

    ran = client.decide(_reply("Computer, set lights to blue at 40% in the bedroom."))
    assert same_call({"command": "set_lights", "args": {"color": "blue", "brightness": 40, "room": "bedroom"}}, ran)
    assert client.decide(_reply("Set lights to blue.")) is None


def test_the_bench_trusts_an_accepted_reading_refuses_a_rejected_one_and_matches_one_that_does_not_fit(client):
    from bench.recognition import same_call

    accepted = {"command": "turn_off", "args": {"device": "fan"}, "score": -1.5, "accepted": True}
    ran = client.decide(_reply("Computer turn of my family.", accepted))
    assert same_call({"command": "turn_off", "args": {"device": "fan", "room": "kitchen"}}, ran)
    rejected = dict(accepted, accepted=False, score=-30.0)
    assert client.decide(_reply("Computer turn off the fan.", rejected)) is None
    assert same_call({"command": "call", "args": {"person": "bob"}}, client.decide(_reply("Computer, call Bob.")))
    unknown = dict(accepted, command="make_coffee")
    assert client.decide(_reply("Computer make coffee.", unknown)) is None
    assert same_call({"command": "call", "args": {"person": "bob"}}, client.decide(_reply("Computer call Bob.", unknown)))


def test_free_text_is_judged_without_case_punctuation_digit_spelling_or_a_leading_article():
    from bench.recognition import same_call

    lights = {"command": "turn_on", "args": {"device": "kitchen lights"}}
    assert same_call(lights, {"command": "turn_on", "args": {"device": "the Kitchen lights"}})
    assert not same_call(lights, {"command": "turn_on", "args": {"device": "kitchen"}})
    expected = {"command": "play_music", "args": {"query": "rock music from the eighties"}}
    assert same_call(expected, {"command": "play_music", "args": {"query": "Rock music from the 80s."}})
    assert not same_call(expected, {"command": "play_music", "args": {"query": "rock music"}})
    assert not same_call({"command": "set_timer", "args": {"minutes": 5}}, {"command": "set_timer", "args": {"minutes": 6}})
    assert same_call(None, None) and not same_call(None, {"command": "set_timer", "args": {"minutes": 5}})


def test_the_vad_bench_places_each_clean_clips_start_where_its_speech_begins(manifest):
    """bench.vad's truth is where make_corpus put the speech: the first sound of a clean clip (its
    silence before is exact zeros) comes at or after it, and at most 60 ms after (the synthesiser's
    own quiet start)."""
    import numpy as np

    from bench.vad import truth
    from va.client.microphone import decode_file

    clean = [entry for entry in manifest if entry["condition"] == "clean"]
    late = []
    for entry in clean:
        pcm = np.frombuffer(decode_file(str(CORPUS / entry["file"])), np.int16)
        first_sound = int(np.flatnonzero(pcm)[0]) / 16000
        if not 0 <= first_sound - truth(entry)[0] <= 0.06:
            late.append((entry["file"], round(truth(entry)[0], 3), first_sound))
    assert not late, f"{len(late)} of {len(clean)}: {late[:5]}"


def test_the_known_values_name_every_value_the_room_splits_say(rooms):
    import ast

    tree = ast.parse((CORPUS / "household_known.py").read_text())
    known = {node.targets[0].id: set(ast.literal_eval(node.value)) for node in tree.body
             if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    lists = {"device": known["DEVICES"], "artist": known["ARTISTS"], "site": known["SITES"]}
    for entry in (e for e in rooms if e["expected"]):
        for name, value in entry["expected"]["args"].items():
            if name in lists:
                assert value in lists[name], (entry["file"], value)
    assert all(len(values) > 10 for values in lists.values())
