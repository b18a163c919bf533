"""An uploaded BPMN file's bytes as text, read the way an XML parser reads them, and the text's
XML declaration made to say UTF-8 before it is stored.

A file names its own encoding (XML 1.0, appendix F): a byte order mark, else the ``encoding`` of
its XML declaration, else UTF-8. Modelling tools write ISO-8859-1 (Trisotech) or UTF-16, so every
door that reads a file's bytes (the upload page, the CLI) decodes them with ``decode_xml``.

The text is then stored and sent to SHAR as UTF-8, and SHAR's Go XML decoder refuses a declaration
naming another encoding: the service layer's upload check passes every upload, bytes decoded here
or a JSON string, through ``declare_utf8``.

Refusals are BpmnValidationError:
    unknown_encoding   the declaration names an encoding Python does not know, or no character set
    bad_encoding       the bytes are not valid in the encoding the file names (or UTF-8)
"""

from __future__ import annotations

import codecs
import re

from app.bpmn.validation import BpmnValidationError

# Longest first: UTF-32 LE's mark begins with UTF-16 LE's (a UTF-16 file cannot start with U+0000).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
# Without a mark, "<?" or "<" in two or four bytes gives the byte order (appendix F).
_WIDE_STARTS = (
    (b"<\x00\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\x00<", "utf-32-be", "UTF-32"),
    (b"<\x00?\x00", "utf-16-le", "UTF-16"),
    (b"\x00<\x00?", "utf-16-be", "UTF-16"),
)
# The declaration is the file's first bytes; no more than this is read to find it.
DECLARATION_MAX_BYTES = 1024
_DECLARATION = re.compile(r"\A\ufeff?<\?xml[ \t\r\n][^?<>]*?\bencoding[ \t\r\n]*=[ \t\r\n]*([\"'])([^\"'?<>]*)\1")
# XML's EncName: anything else (spaces, NUL) is no encoding name, and is never looked up.
_ENCODING_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*\Z")
# Codecs Python knows that are no character set a file could be written in.
_NOT_CHARSETS = frozenset(
    {
        "base64",
        "bz2",
        "hex",
        "quopri",
        "rot-13",
        "uu",
        "zlib",
        "unicode-escape",
        "raw-unicode-escape",
        "idna",
        "punycode",
        "undefined",
        "charmap",
    }
)


def decode_xml(data: bytes) -> str:
    """The text of an XML file's bytes: in the encoding its byte order mark, else its declaration
    names, else UTF-8. BpmnValidationError names the encoding when the bytes do not fit it."""
    for bom, codec, shown in _BOMS:
        # The mark decides, as it does for libxml2; a declaration saying otherwise is rewritten later.
        if data.startswith(bom):
            return _decode(data, codec, shown, "as its byte order mark says", skip=len(bom))
    for start, codec, shown in _WIDE_STARTS:
        if data.startswith(start):
            return _decode(data, codec, shown, "as its first characters show")
    declared = declared_encoding(data[:DECLARATION_MAX_BYTES].decode("latin-1"))
    if declared is None:
        return _decode(data, "utf-8", "UTF-8", "it declares no other encoding")
    codec = _codec(declared)
    if codec.startswith(("utf-16", "utf-32")):
        # A declaration read in single bytes is not UTF-16: a UTF-8 file saved with a .NET writer's
        # "utf-16" label. libxml2 reads it as UTF-8; so do we.
        return _decode(data, "utf-8", "UTF-8", f"its declaration names {declared} but is not written in it")
    return _decode(data, codec, declared, "as its XML declaration says")


def declared_encoding(text: str) -> str | None:
    """The encoding named by the XML declaration at the start of text, or None."""
    match = _DECLARATION.match(text, 0, DECLARATION_MAX_BYTES)
    return match.group(2) if match else None


def declare_utf8(text: str) -> str:
    """text whose XML declaration, if it names an encoding other than UTF-8, names UTF-8: the text is
    sent on as UTF-8. Anything else, a declaration already saying UTF-8 included, is left as it is."""
    match = _DECLARATION.match(text, 0, DECLARATION_MAX_BYTES)
    if match is None or _is_utf8(match.group(2)):
        return text
    return text[: match.start(2)] + "UTF-8" + text[match.end(2) :]


def _is_utf8(declared: str) -> bool:
    return _codec_name(declared) == "utf-8"


def _codec_name(declared: str) -> str | None:
    """Python's name for a declared encoding, or None when Python knows none by that name."""
    if not _ENCODING_NAME.match(declared):
        return None
    try:
        return codecs.lookup(declared).name
    except LookupError:
        return None


def _codec(declared: str) -> str:
    """Python's codec for a declared encoding; unknown_encoding when there is none."""
    name = _codec_name(declared)
    if name is None or name in _NOT_CHARSETS:
        raise BpmnValidationError(
            f"BPMN file declares the encoding {declared!r}, which is not a known "
            "character set; save it as UTF-8 or declare the encoding it is written in",
            code="unknown_encoding",
        )
    return name


def _decode(data: bytes, codec: str, shown: str, why: str, *, skip: int = 0) -> str:
    """data[skip:] in codec; bad_encoding naming the encoding (shown, and why it was chosen), the byte's
    offset and its line otherwise."""
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[skip:offset].decode(codec, errors="replace").count("\n") + 1
        raise BpmnValidationError(
            f"BPMN file cannot be read as {shown} ({why}): byte 0x{data[offset]:02X} at offset {offset} "
            f"(line {line}) is not valid {shown}",
            code="bad_encoding",
            line=line,
        ) from None
