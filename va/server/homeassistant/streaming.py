"""Streamed transcripts (Wyoming 1.7: `transcript-start`, `transcript-chunk`..., `transcript`,
`transcript-stop`): which text each chunk carries.

While audio still arrives, the endpoint decodes the utterance so far now and then (every
`server.wyoming.partial_every` seconds of audio, when the worker has room), the way va's own
streaming reads a phrase ahead (va.server.stream). The chunks are appended by the client, so a
chunk may never take back what an earlier one said: a word is sent once two partial transcripts
in a row agree on it (and it is not the last one heard, often cut in the middle), and only when
it continues what was sent; the final transcript gives the rest when it continues them too. The
`transcript` event, sent for older clients before `transcript-stop`, always holds the whole final
text (on the rare occasion that the end revised a word already sent, it is the one to believe).

Pure: `TranscriptStream` says what to send; the endpoint (va.server.homeassistant.wyoming) sends it.
"""

from __future__ import annotations

from typing import List, Optional


class TranscriptStream:
    """One utterance's streamed transcript."""

    def __init__(self) -> None:
        self.started = False
        """transcript-start was sent."""
        self.closed = False
        """The final transcript was sent: partials that come later are dropped."""
        self._sent: List[str] = []
        self._heard: List[str] = []
        """The words of the last partial transcript."""
        self.chunks: List[str] = []
        """Every chunk text sent, in order (their concatenation is what the client shows)."""

    def partial(self, text: str) -> Optional[str]:
        """The chunk a partial transcript adds (None: nothing new, or it revised what was sent)."""
        if self.closed:
            return None
        words, previous = text.split()[:-1], self._heard
        self._heard = text.split()
        agreed = 0
        while agreed < min(len(words), len(previous)) and words[agreed] == previous[agreed]:
            agreed += 1
        return self._extend(words[:agreed])

    def final(self, text: str) -> Optional[str]:
        """The last chunk: what the final transcript adds to the chunks sent."""
        chunk = None if self.closed else self._extend(text.split())
        self.closed = True
        return chunk

    def _extend(self, words: List[str]) -> Optional[str]:
        if len(words) <= len(self._sent) or words[: len(self._sent)] != self._sent:
            return None
        added = words[len(self._sent):]
        chunk = (" " if self._sent else "") + " ".join(added)
        self._sent = words
        self.chunks.append(chunk)
        return chunk
