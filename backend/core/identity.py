"""Validation, normalisation and masking of resident identity numbers and phones."""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from typing import Final

import phonenumbers
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

INVALID_ID_NUMBER: Final = "invalid_id_number"
INVALID_PHONE: Final = "invalid_phone"

# Earliest birth date we accept; anything older is certainly a typo.
MIN_BIRTH_DATE: Final = datetime.date(1890, 1, 1)

# China has used UTC+8 without daylight saving since 1991, so a fixed offset is exact.
_CHINA_TZ: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")

_ID_BODY_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID_SEPARATORS_RE: Final = re.compile(r"[\s\-]+")
_PHONE_CHARS_RE: Final = re.compile(r"\+?[0-9\s\-().]+")
_PHONE_MAX_LENGTH: Final = 40


class InvalidIdentity(ValueError):
    """An identity number or phone number failed validation."""

    def __init__(self, code: str, message: str) -> None:
        """Store the stable machine code and the Chinese user-facing message."""
        super().__init__(message)
        self.code: str = code
        self.message: str = message

    def __repr__(self) -> str:
        """Show the code and message for debugging."""
        return f"InvalidIdentity(code={self.code!r}, message={self.message!r})"


def _today_in_china() -> datetime.date:
    """Return the current calendar date in China (UTC+8)."""
    return datetime.datetime.now(_CHINA_TZ).date()


@functools.lru_cache(maxsize=1)
def _issued_region_codes() -> frozenset[str]:
    """Return every 6-digit region code stdnum's database lists, ignoring date ranges."""
    codes: set[str] = set()
    for length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or low != high:
            continue
        for sub_length, sub_low, sub_high, sub_props, _sub_children in children:
            # Only entries carrying a county name are real codes; ranges like
            # "[1983-2012]沧浪区" record validity periods, which we deliberately ignore.
            if sub_length == 4 and sub_low == sub_high and sub_props.get("county"):
                codes.add(low + sub_low)
    return frozenset(codes)


def _id_error(message: str) -> InvalidIdentity:
    """Build an invalid_id_number error."""
    return InvalidIdentity(INVALID_ID_NUMBER, message)


def _compact_id_number(value: str) -> str:
    """Fold full-width characters, drop spaces and hyphens, and uppercase."""
    folded = unicodedata.normalize("NFKC", value)
    return _ID_SEPARATORS_RE.sub("", folded).upper()


def normalize_id_number(value: str) -> str:
    """Validate an 18-digit resident identity number and return its canonical form."""
    if not isinstance(value, str):
        raise _id_error("身份证号码格式不正确")
    number = _compact_id_number(value)
    if not number:
        raise _id_error("请填写身份证号码")
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise _id_error("暂不支持15位旧版身份证号码，请提供18位居民身份证号码")
    if len(number) != 18:
        raise _id_error(f"身份证号码应为18位，当前为{len(number)}位")
    if not _ID_BODY_RE.fullmatch(number):
        raise _id_error("身份证号码前17位必须为数字，最后一位为数字或X")
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        raise _id_error("身份证号码中的出生日期不是有效日期") from None
    if birth > _today_in_china():
        raise _id_error("身份证号码中的出生日期晚于今天")
    if birth < MIN_BIRTH_DATE:
        raise _id_error("身份证号码中的出生日期早于1890年1月1日")
    # Deliberately not ric.validate(): it also requires the region code to have
    # existed in the birth year, which rejects genuine numbers of elders born
    # before their county's current code was created.
    if number[:6] not in _issued_region_codes():
        raise _id_error("身份证号码前6位地区代码不存在")
    if number[-1] != ric.calc_check_digit(number):
        raise _id_error("身份证号码校验位错误，请核对后重新输入")
    return number


def birth_date_from_id_number(value: str) -> datetime.date:
    """Return the birth date encoded in a valid identity number."""
    return ric.get_birth_date(normalize_id_number(value))


def gender_from_id_number(value: str) -> str:
    """``"male"`` or ``"female"``, from the 17th digit of a valid identity number (odd: male)."""
    return "male" if int(normalize_id_number(value)[16]) % 2 else "female"


def _phone_error(message: str) -> InvalidIdentity:
    """Build an invalid_phone error."""
    return InvalidIdentity(INVALID_PHONE, message)


def normalize_phone(value: str) -> str:
    """Validate a Chinese mobile or fixed-line number and return it in E.164 form."""
    if not isinstance(value, str):
        raise _phone_error("电话号码格式不正确")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise _phone_error("请填写电话号码")
    # The whitelist also rules out extensions ("ext.", "#"), which E.164 cannot carry.
    if len(text) > _PHONE_MAX_LENGTH or not _PHONE_CHARS_RE.fullmatch(text):
        raise _phone_error("电话号码只能包含数字、空格、+、-和括号")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise _phone_error("无法识别的电话号码") from None
    if not phonenumbers.is_valid_number(parsed):
        raise _phone_error("电话号码无效，请填写11位手机号或带区号的固定电话")
    if not phonenumbers.is_valid_number_for_region(parsed, "CN"):
        raise _phone_error("仅支持中国大陆的电话号码")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _mask(text: str, head: int, tail: int) -> str:
    """Keep up to head/tail characters and star the rest, always hiding at least one."""
    if not text:
        return ""
    if len(text) <= head + tail:
        visible = len(text) - 1
        head = min(head, visible // 2)
        tail = min(tail, visible - head)
    hidden = len(text) - head - tail
    return text[:head] + "*" * hidden + text[len(text) - tail :]


def mask_id_number(value: str) -> str:
    """Mask an identity number, keeping only the first 4 and last 4 characters."""
    return _mask(_compact_id_number(value), 4, 4)


def mask_phone(value: str) -> str:
    """Mask a phone's national number, keeping only the first 3 and last 4 digits."""
    text = unicodedata.normalize("NFKC", value).strip()
    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(text, "CN"))
    except phonenumbers.NumberParseException:
        national = "".join(text.split())
    return _mask(national, 3, 4)


# Two-character surnames (复姓) still borne today; every other Chinese name starts with a one-character surname.
_COMPOUND_SURNAMES: Final = frozenset(
    re.findall(
        "..",
        "欧阳司马上官诸葛东方皇甫尉迟公孙慕容令狐夏侯长孙宇文司徒司空西门南宫端木独孤轩辕"
        "呼延百里东郭闻人万俟澹台公羊赫连宗政濮阳太史申屠钟离鲜于闾丘拓跋左丘第五",
    )
)


def courtesy_name(name: str, gender: str | None) -> str:
    """How a caregiver addresses an elder they have not met: her surname and 奶奶 (grandma) or 爷爷 (grandpa),
    e.g. 「王奶奶」 for 王秀英 — her surname only, never her given name. Unknown gender: 「王老」."""
    text = unicodedata.normalize("NFKC", name).strip()
    surname = text[:2] if text[:2] in _COMPOUND_SURNAMES else text[:1]
    if not surname or not ("\u4e00" <= surname[0] <= "\u9fff"):
        return "老人家"  # no Chinese surname to go by
    return surname + {"female": "奶奶", "male": "爷爷"}.get(gender or "", "老")
