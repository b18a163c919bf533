"""decode_xml reads a file's bytes in the encoding the file names, as an XML parser does;
declare_utf8 makes the declaration of the text sent on as UTF-8 say so."""

from __future__ import annotations

import codecs

import pytest
from lxml import etree

from app.bpmn import BpmnValidationError, declare_utf8, decode_xml, validate_bpmn
from app.bpmn.encoding import DECLARATION_MAX_BYTES, declared_encoding
from tests.bpmn.helpers import definitions


def document(encoding: str) -> str:
    """A valid document declaring `encoding`, whose process is named with a non-ASCII letter."""
    return definitions().replace('encoding="UTF-8"', f'encoding="{encoding}"').replace('name="Order"', 'name="Café"')


def refusal(data: bytes) -> BpmnValidationError:
    with pytest.raises(BpmnValidationError) as caught:
        decode_xml(data)
    return caught.value


def test_a_file_is_read_in_the_encoding_its_declaration_names() -> None:
    text = document("ISO-8859-1")
    data = text.encode("latin-1")
    assert b"Caf\xe9" in data
    assert decode_xml(data) == text
    assert decode_xml(document("windows-1252").encode("cp1252")) == document("windows-1252")


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_a_byte_order_mark_decides_and_is_not_kept(bom: bytes, codec: str) -> None:
    text = document("UTF-16" if "16" in codec else "UTF-8")
    assert decode_xml(bom + text.encode(codec)) == text


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_mark_is_known_by_its_first_characters(codec: str) -> None:
    assert decode_xml(document("UTF-16").encode(codec)) == document("UTF-16")


def test_without_a_declared_encoding_the_file_is_utf8() -> None:
    text = document("UTF-8").replace(' encoding="UTF-8"', "")
    assert decode_xml(text.encode()) == text
    # A "utf-16" label on single bytes (a .NET writer's, saved as UTF-8) is read as libxml2 reads it.
    assert decode_xml(document("utf-16").encode()) == document("utf-16")


@pytest.mark.parametrize("name", ["x-unknown-charset", "base64", "unicode_escape", "latin 1", "a\x00b", ""])
def test_an_unknown_declared_encoding_is_refused_by_name(name: str) -> None:
    error = refusal(document(name).encode())
    assert error.code == "unknown_encoding" and repr(name) in error.message


def test_bytes_invalid_in_the_declared_encoding_are_refused_with_where() -> None:
    error = refusal(document("US-ASCII").encode("latin-1"))
    assert error.code == "bad_encoding" and error.line == 3  # the process line
    offset = document("US-ASCII").encode("latin-1").index(b"\xe9")
    assert error.message == (
        f"BPMN file cannot be read as US-ASCII (as its XML declaration says): byte 0xE9 at "
        f"offset {offset} (line 3) is not valid US-ASCII"
    )


def test_bytes_invalid_in_utf8_name_utf8_and_count_the_mark() -> None:
    assert (
        "cannot be read as UTF-8 (it declares no other encoding): byte 0xE9"
        in refusal(document("UTF-8").replace(' encoding="UTF-8"', "").encode("latin-1")).message
    )
    truncated = codecs.BOM_UTF16_LE + document("UTF-16").encode("utf-16-le")[:-1]
    error = refusal(truncated)
    assert f"UTF-16 (as its byte order mark says): byte 0x0A at offset {len(truncated) - 1}" in error.message


def test_only_the_declaration_is_read_to_find_the_encoding() -> None:
    head = '<?xml version="1.0"' + " " * DECLARATION_MAX_BYTES + 'encoding="ISO-8859-1"?>'
    assert declared_encoding(head) is None
    assert declared_encoding("<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?><a/>") == "ISO-8859-1"
    assert declared_encoding("<a/><?xml version='1.0' encoding='ISO-8859-1'?>") is None


def test_declare_utf8_rewrites_only_another_encoding() -> None:
    assert declare_utf8(document("ISO-8859-1")) == document("UTF-8")
    assert (
        declare_utf8("\ufeff<?xml version='1.0' encoding='utf-16' standalone='yes'?><a/>")
        == "\ufeff<?xml version='1.0' encoding='UTF-8' standalone='yes'?><a/>"
    )
    assert declare_utf8(document("x-unknown-charset")) == document("UTF-8")
    for kept in (document("UTF-8"), document("utf8"), "<a>Café</a>", "<a/><?xml version='1.0' encoding='latin1'?>"):
        assert declare_utf8(kept) is kept


def test_decoded_and_declared_utf8_text_reads_the_same_as_utf8_bytes() -> None:
    # What SHAR gets: the text as UTF-8 bytes, read by a parser that believes the declaration.
    sent = declare_utf8(decode_xml(document("ISO-8859-1").encode("latin-1"))).encode()
    assert etree.fromstring(sent).find(".//{*}process").get("name") == "Café"
    assert validate_bpmn(sent).processes[0].name == "Café"
