"""junit.xml as CI tools read it: the Jenkins JUnit XSD (patched for file/line), junitparser with source attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import junitparser
import xmlschema
from junitparser import Attr, IntAttr, JUnitXml

XSD = Path(__file__).with_name("junit-10.xsd")
# The shipped XSD is pytest's copy of the Jenkins xunit-plugin junit-10.xsd; the plugin's later
# junit-10.xsd also declares optional `file` and `line` on <testcase>, as GitLab reads them. Add those two.
_TESTCASE_NAME = '<xs:attribute name="name" type="xs:string" use="required"/>\n            <xs:attribute name="time"'
_FILE_LINE = (
    '<xs:attribute name="file" type="xs:string"/>\n            <xs:attribute name="line" type="xs:string"/>\n'
    "            "
)


def junit_schema() -> xmlschema.XMLSchema:
    """The XSD with the testcase ``file``/``line`` attributes added (checked to apply exactly once)."""
    text = XSD.read_text(encoding="utf-8")
    assert text.count(_TESTCASE_NAME) == 1, "the shipped XSD changed: re-check the file/line patch"
    return xmlschema.XMLSchema(text.replace(_TESTCASE_NAME, _FILE_LINE + _TESTCASE_NAME))


class SourceCase(junitparser.TestCase):  # type: ignore[misc]
    """A testcase with the source attributes junitparser does not model itself."""

    file = Attr()
    line = IntAttr()


def cases(data: bytes) -> dict[str, Any]:
    """``<suite>/<case>`` → the testcase, read back by junitparser."""
    xml = JUnitXml.fromstring(data)
    return {f"{suite.name}/{case.name}": SourceCase.fromelem(case) for suite in xml for case in suite}
