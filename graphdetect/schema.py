"""The input tables of the data contract: columns, Chinese aliases and value words.

This module is the single place that knows the names in ``contract.md``; ingestion,
the generator's tests and the documentation read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "Table", "TABLES", "VISIT_TYPES", "INSTITUTION_KINDS", "canonical_names"]


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind`` says how values are parsed: ``id`` and ``text`` (stripped strings),
    ``visit_type``, ``time``, ``amount``, ``sex``, ``int``, ``institution_kind``,
    ``ownership``.
    """

    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    key: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CLAIMS = Table("claims", True, "claim_id", (
    Column("claim_id", "id", True, ("结算流水号", "结算ID", "结算id")),
    Column("patient_id", "id", True, ("个人编号", "参保人编号")),
    Column("institution_id", "id", True, ("定点机构编码", "医药机构编码")),
    Column("doctor_id", "id", False, ("医师编码", "医保医师编码")),
    Column("visit_type", "visit_type", True, ("就诊类型", "医疗类别")),
    Column("start_time", "time", True, ("就诊时间", "入院时间", "结算时间")),
    Column("end_time", "time", False, ("出院时间",)),
    Column("total_amount", "amount", True, ("医疗总费用", "总金额")),
    Column("fund_amount", "amount", False, ("统筹支付", "基金支付")),
    Column("diagnosis_code", "text", False, ("诊断编码", "主诊断编码")),
    Column("terminal_id", "id", False, ("终端编号", "结算终端")),
    Column("operator_id", "id", False, ("操作员编号", "收款员")),
    Column("card_id", "id", False, ("医保卡号", "凭证号")),
))

PATIENTS = Table("patients", False, "patient_id", (
    Column("patient_id", "id", True, ("个人编号", "参保人编号")),
    Column("birth_date", "time", False, ("出生日期",)),
    Column("birth_year", "int", False, ("出生年份",)),
    Column("sex", "sex", False, ("性别",)),
    Column("region_code", "text", False, ("行政区划", "区划代码", "村编码")),
    Column("phone_hash", "text", False, ("电话哈希", "手机号哈希")),
    Column("address_hash", "text", False, ("地址哈希", "住址哈希")),
))

INSTITUTIONS = Table("institutions", False, "institution_id", (
    Column("institution_id", "id", True, ("定点机构编码", "医药机构编码")),
    Column("name", "text", False, ("机构名称", "名称")),
    Column("kind", "institution_kind", False, ("机构类型", "类型")),
    Column("level", "int", False, ("机构等级", "等级")),
    Column("ownership", "ownership", False, ("所有制", "经营性质")),
    Column("region_code", "text", False, ("行政区划", "区划代码")),
))

DOCTORS = Table("doctors", False, "doctor_id", (
    Column("doctor_id", "id", True, ("医师编码", "医保医师编码")),
    Column("name", "text", False, ("姓名", "医师姓名")),
    Column("institution_id", "id", False, ("定点机构编码", "医药机构编码")),
    Column("specialty", "text", False, ("科室", "专业")),
))

REGIONS = Table("regions", False, "region_code", (
    Column("region_code", "text", True, ("行政区划", "区划代码")),
    Column("name", "text", False, ("区划名称", "名称")),
    Column("parent_code", "text", False, ("上级区划", "上级区划代码")),
))

TABLES: dict[str, Table] = {t.name: t for t in (CLAIMS, PATIENTS, INSTITUTIONS, DOCTORS,
                                                 REGIONS)}

#: Visit-type words accepted (lower-cased, stripped) and their canonical value.
VISIT_TYPES: dict[str, str] = {
    "outpatient": "outpatient", "门诊": "outpatient", "普通门诊": "outpatient",
    "门特": "outpatient", "门诊慢特病": "outpatient",
    "inpatient": "inpatient", "住院": "inpatient",
    "pharmacy": "pharmacy", "购药": "pharmacy", "药店购药": "pharmacy", "定点药店购药": "pharmacy",
}
VISIT_CODES = ("outpatient", "inpatient", "pharmacy")

INSTITUTION_KINDS: dict[str, str] = {
    "hospital": "hospital", "医院": "hospital",
    "health_center": "health_center", "卫生院": "health_center",
    "社区卫生服务中心": "health_center",
    "village_clinic": "village_clinic", "村卫生室": "village_clinic",
    "clinic": "clinic", "诊所": "clinic", "门诊部": "clinic",
    "pharmacy": "pharmacy", "药店": "pharmacy", "零售药店": "pharmacy",
}
OWNERSHIP: dict[str, str] = {
    "public": "public", "公立": "public", "公办": "public",
    "private": "private", "民营": "private", "私立": "private",
}
SEX: dict[str, str] = {"m": "M", "f": "F", "男": "M", "女": "F", "1": "M", "2": "F"}


def canonical_names(table: Table, header: list[str]) -> dict[int, str]:
    """Map header positions to canonical column names; unknown columns are left out.

    The first column that names a canonical column wins; later ones are ignored.

    Examples
    --------
    >>> canonical_names(TABLES["claims"], ["结算流水号", "个人编号", "备注"])
    {0: 'claim_id', 1: 'patient_id'}
    """
    lookup: dict[str, str] = {}
    for col in table.columns:
        for word in (col.name, *col.aliases):
            lookup.setdefault(word.strip().lower(), col.name)
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, raw in enumerate(header):
        name = lookup.get(str(raw).strip().lstrip("\ufeff").lower())
        if name and name not in taken:
            out[i] = name
            taken.add(name)
    return out
