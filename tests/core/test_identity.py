"""Tests for backend.core.identity: ID numbers, phones and masking."""

from __future__ import annotations

import datetime

import pytest
from stdnum import numdb
from stdnum.cn import ric

from backend.core.identity import (
    InvalidIdentity,
    birth_date_from_id_number,
    courtesy_name,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_phone,
)

pytestmark = pytest.mark.unit

# ISO 7064 MOD 11-2 weights for the first 17 digits: 2**(17 - i) mod 11.
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """Independent ISO 7064 MOD 11-2 check character for a 17-digit body."""
    assert len(first17) == 17 and first17.isdigit()
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def make_id(region: str, birth: str, seq: str = "123") -> str:
    """Build an 18-character number with a correct check character."""
    body = region + birth + seq
    return body + check_char(body)


def wrong_check(number: str) -> str:
    """Replace the check character with a different, wrong one."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def county_in_stdnum_data(region: str) -> str | None:
    """Return the raw county entry stdnum's loc.dat has for a region code."""
    parts = numdb.get("cn/loc").info(region)
    if len(parts) != 2 or len(parts[1][0]) != 4:
        return None
    return parts[1][1].get("county")


def test_independent_check_digit_matches_known_sample() -> None:
    assert check_char("36042619910101007") == "1"  # stdnum's documented sample
    assert check_char("11010519491231002") == "X"  # well-known public example


# --- identity numbers: accepted -------------------------------------------------


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("320508", "19450302"),  # 姑苏区, code created 2012
        ("320502", "19450302"),  # 沧浪区, code 1983-2012
        ("320583", "19381115"),  # 昆山市, code created 1989
        ("320506", "19400101"),  # 吴中区, code created 2000
        ("110105", "19491231"),  # 朝阳区, no date range in the data
    ],
)
def test_genuine_elder_numbers_are_accepted(region: str, birth: str) -> None:
    number = make_id(region, birth)
    assert normalize_id_number(number) == number
    expected = datetime.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    assert birth_date_from_id_number(number) == expected


@pytest.mark.parametrize(("region", "year"), [("320508", 2012), ("320502", 1983), ("320583", 1989)])
def test_region_created_after_birth_is_rejected_by_stdnum_but_accepted_by_us(region: str, year: int) -> None:
    # The trap: stdnum also demands that the region code existed in the birth year.
    county = county_in_stdnum_data(region)
    assert county is not None and county.startswith(f"[{year}-")
    number = make_id(region, "19450302")
    assert ric.is_valid(number) is False
    assert ric.calc_check_digit(number) == number[-1]  # not a checksum problem
    assert normalize_id_number(number) == number


def test_canonical_form_uppercases_x_and_strips_separators() -> None:
    seq = next(f"{n:03d}" for n in range(1000) if make_id("320508", "19450302", f"{n:03d}")[-1] == "X")
    number = make_id("320508", "19450302", seq)
    assert number.endswith("X")
    lower = number[:-1] + "x"
    assert normalize_id_number(f"  {lower}\n") == number
    assert normalize_id_number(f"{number[:6]} {number[6:14]} {number[14:]}") == number
    assert normalize_id_number(f"{number[:6]}-{number[6:14]}-{number[14:]}") == number
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in lower)  # full-width digits and ｘ
    assert normalize_id_number(fullwidth) == number


def test_earliest_allowed_birth_date() -> None:
    number = make_id("320500", "18900101")
    assert birth_date_from_id_number(number) == datetime.date(1890, 1, 1)


# --- identity numbers: rejected -------------------------------------------------


def assert_rejected(value: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_id_number(value)
    assert info.value.code == "invalid_id_number"
    assert fragment in info.value.message
    assert str(info.value) == info.value.message


def test_wrong_checksum() -> None:
    good = make_id("320508", "19450302")
    assert_rejected(wrong_check(good), "校验位")


def test_impossible_date() -> None:
    assert_rejected(make_id("320508", "19450230"), "出生日期")
    assert_rejected(make_id("320508", "19451301"), "出生日期")


def test_future_birth_date() -> None:
    future = datetime.date.today() + datetime.timedelta(days=2)
    assert_rejected(make_id("320508", future.strftime("%Y%m%d")), "晚于今天")


def test_birth_date_before_1890() -> None:
    assert_rejected(make_id("320500", "18891231"), "1890")


@pytest.mark.parametrize("region", ["320599", "999999", "320510", "000000"])
def test_unknown_region_code(region: str) -> None:
    assert county_in_stdnum_data(region) is None  # never issued according to the data
    assert_rejected(make_id(region, "19450302"), "地区代码")


@pytest.mark.parametrize(
    "value",
    [make_id("320508", "19450302")[:17], make_id("320508", "19450302") + "1", "3205"],
)
def test_wrong_length(value: str) -> None:
    assert_rejected(value, "18位")


def test_old_15_digit_number_has_its_own_message() -> None:
    assert_rejected("320502450302123", "旧版")


@pytest.mark.parametrize("value", ["32050819450302A231", "3205081945030212XX", "X20508194503021231"])
def test_letters_are_rejected(value: str) -> None:
    assert_rejected(value, "数字")


def test_empty_id_number() -> None:
    assert_rejected("   ", "身份证号码")


def test_birth_date_from_invalid_number_raises() -> None:
    with pytest.raises(InvalidIdentity):
        birth_date_from_id_number(wrong_check(make_id("320508", "19450302")))


# --- phones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13912345678", "+8613912345678"),
        ("+8613912345678", "+8613912345678"),
        ("+86 139 1234 5678", "+8613912345678"),
        ("008613912345678", "+8613912345678"),
        ("139-1234-5678", "+8613912345678"),
        ("＋８６ １３９１２３４５６７８", "+8613912345678"),
        ("0512-65223456", "+8651265223456"),
        ("0512 6522 3456", "+8651265223456"),
        ("(0512) 65223456", "+8651265223456"),
        ("+86 512 6522 3456", "+8651265223456"),
    ],
)
def test_valid_phones_normalise_to_e164(value: str, expected: str) -> None:
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "12345",
        "1391234567",  # 10 digits
        "139123456789",  # 12 digits
        "65223456",  # fixed line without area code
        "abc",
        "abc13912345678",
        "13912345678 ext. 12",
        "+1 202 555 0100",  # valid US number, but not Chinese
        "+852 2345 6789",  # valid Hong Kong number, but not mainland
        "",
        "   ",
    ],
)
def test_invalid_phones_are_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_phone(value)
    assert info.value.code == "invalid_phone"
    assert info.value.message


@pytest.mark.parametrize("value", ["12345", "1391234567", "0512-65223456-801"])
def test_malformed_chinese_number_is_reported_as_invalid(value: str) -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_phone(value)
    assert info.value.code == "invalid_phone"
    assert "无效" in info.value.message


def test_foreign_number_gets_mainland_only_message() -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_phone("+1 202 555 0100")
    assert "中国大陆" in info.value.message


# --- masking ------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("320508194503021234") == "3205**********1234"
    assert mask_id_number("32050819450302123x") == "3205**********123X"
    assert mask_id_number("12345678") == "123*5678"
    assert mask_id_number("") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+8613912345678", "139****5678"),
        ("13912345678", "139****5678"),
        ("+8651265223456", "512****3456"),
        ("+12025550100", "202***0100"),
        ("1234567", "123*567"),
        ("12345", "12*45"),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    masked = mask_phone(value)
    assert masked == expected
    assert "*" in masked


def test_gender_comes_from_the_seventeenth_digit() -> None:
    from backend.core.identity import gender_from_id_number

    odd = "32050219450302003"
    even = "32050219450302004"
    assert gender_from_id_number(odd + ric.calc_check_digit(odd + "0")) == "male"
    assert gender_from_id_number(even + ric.calc_check_digit(even + "0")) == "female"


@pytest.mark.parametrize(
    ("name", "gender", "greeting"),
    [
        ("王秀英", "female", "王奶奶"),
        ("李建国", "male", "李爷爷"),
        ("欧阳春兰", "female", "欧阳奶奶"),  # a two-character surname
        ("诸葛明", "male", "诸葛爷爷"),
        ("张阿婆", None, "张老"),
        ("Mary Smith", "female", "老人家"),
    ],
)
def test_a_caregiver_greets_an_elder_by_surname_only(name: str, gender: str | None, greeting: str) -> None:
    assert courtesy_name(name, gender) == greeting
