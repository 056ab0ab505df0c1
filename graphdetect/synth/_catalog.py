"""Fixed catalogues for the generator: tiers, specialties, diagnoses, prices and names.

Everything here is constant data; nothing is random. Indices into these tables are what the
other modules pass around in their numpy arrays.
"""

from __future__ import annotations

import numpy as np

# Institution tiers (internal); the contract's ``kind`` is derived from the tier.
TERT, SEC, PRIV, HC, VC, CLINIC, PHARM = range(7)
TIER_KIND = ("hospital", "hospital", "hospital", "health_center", "village_clinic", "clinic",
             "pharmacy")
TIER_PREFIX = ("H", "H", "H", "W", "V", "C", "P")

# Visit types (internal int8 codes).
OUT, INP, PHA = 0, 1, 2
VISIT_TYPES = ("outpatient", "inpatient", "pharmacy")

SPECIALTIES = (
    "全科医学科", "内科", "外科", "妇产科", "儿科", "心血管内科", "内分泌科", "呼吸内科",
    "肾内科", "神经内科", "消化内科", "骨科", "眼科", "耳鼻喉科", "皮肤科", "中医科",
    "急诊科", "康复医学科", "乡村全科",
)
S_GP, S_IM, S_SURG, S_OBGYN, S_PED, S_CARD, S_ENDO, S_RESP, S_NEPH, S_NEUR, S_GI, S_ORTH, \
    S_EYE, S_ENT, S_DERM, S_TCM, S_ER, S_REHAB, S_VILLAGE = range(len(SPECIALTIES))

# Specialties staffed per tier, with (low, high) doctors per specialty before scaling.
TIER_SPECIALTIES = {
    TERT: (S_IM, S_SURG, S_OBGYN, S_PED, S_CARD, S_ENDO, S_RESP, S_NEPH, S_NEUR, S_GI, S_ORTH,
           S_EYE, S_ENT, S_DERM, S_TCM, S_ER, S_REHAB),
    SEC: (S_IM, S_SURG, S_OBGYN, S_PED, S_CARD, S_RESP, S_NEPH, S_NEUR, S_GI, S_ORTH, S_EYE,
          S_TCM, S_ER),
    PRIV: (S_IM, S_SURG, S_ORTH, S_NEUR, S_TCM, S_REHAB),
    HC: (S_GP, S_IM, S_SURG, S_OBGYN, S_TCM),
    VC: (S_VILLAGE,),
    CLINIC: (S_GP,),
    PHARM: (),
}
# Fallback specialty order when an institution lacks the one a diagnosis asks for.
GENERAL_ORDER = (S_VILLAGE, S_GP, S_IM, S_TCM, S_SURG)

# Diagnoses: code, specialty, outpatient price factor, inpatient median stay, surgery yuan.
_DIAG = (
    ("J06.9", S_RESP, 0.8, 0, 0), ("J20.9", S_RESP, 1.0, 5, 0), ("A09", S_GI, 0.9, 4, 0),
    ("H10.9", S_EYE, 0.7, 0, 0), ("L30.9", S_DERM, 0.8, 0, 0), ("K29.7", S_GI, 1.1, 5, 0),
    ("M54.5", S_ORTH, 1.2, 0, 0), ("R51", S_NEUR, 0.9, 0, 0), ("N39.0", S_IM, 1.0, 0, 0),
    ("S93.4", S_ORTH, 1.3, 0, 0), ("R42", S_NEUR, 1.0, 0, 0), ("J02.9", S_ENT, 0.8, 0, 0),
    ("I10", S_CARD, 1.0, 0, 0), ("E11.9", S_ENDO, 1.2, 8, 0), ("J44.9", S_RESP, 1.3, 9, 0),
    ("I25.1", S_CARD, 1.3, 8, 0), ("N18.5", S_NEPH, 1.5, 10, 0), ("I69.3", S_NEUR, 1.2, 0, 0),
    ("J18.9", S_RESP, 1.2, 7, 0), ("I63.9", S_NEUR, 1.5, 10, 0), ("J44.1", S_RESP, 1.4, 9, 0),
    ("K80.2", S_SURG, 1.2, 7, 9000), ("K35.8", S_SURG, 1.2, 6, 7000),
    ("S72.0", S_ORTH, 1.5, 14, 22000), ("O80", S_OBGYN, 1.0, 4, 2500),
    ("I50.9", S_CARD, 1.4, 9, 0), ("M17.9", S_ORTH, 1.2, 10, 0), ("I67.9", S_NEUR, 1.3, 9, 0),
    ("Z00.0", S_GP, 1.0, 0, 0), ("Z00.1", S_PED, 1.0, 0, 0), ("R54", S_GP, 1.0, 0, 0),
    ("I69.4", S_NEUR, 1.2, 0, 0), ("I69.8", S_NEUR, 1.2, 0, 0), ("Z23", S_GP, 1.0, 0, 0),
)
DIAG_CODES = tuple(d[0] for d in _DIAG)
DIAG_SPEC = np.array([d[1] for d in _DIAG], dtype=np.int16)
DIAG_PRICE = np.array([d[2] for d in _DIAG])
DIAG_LOS = np.array([d[3] for d in _DIAG], dtype=np.float64)
DIAG_SURGERY = np.array([d[4] for d in _DIAG], dtype=np.float64)
DX = {code: i for i, code in enumerate(DIAG_CODES)}


def codes(*names: str) -> np.ndarray:
    """Return the catalogue indices of diagnosis codes, as an int16 array."""
    return np.array([DX[n] for n in names], dtype=np.int16)


# Acute outpatient diagnoses by age band (child < 15, adult < 60, elderly), with weights.
ACUTE = {
    "child": (codes("J06.9", "J20.9", "A09", "H10.9", "L30.9", "J02.9"),
              np.array([40, 18, 15, 8, 9, 10.0])),
    "adult": (codes("J06.9", "K29.7", "M54.5", "R51", "N39.0", "S93.4", "L30.9", "H10.9",
                    "J02.9"), np.array([25, 15, 14, 8, 8, 7, 8, 5, 10.0])),
    "elder": (codes("J06.9", "K29.7", "M54.5", "R42", "J20.9", "N39.0", "H10.9", "R54"),
              np.array([22, 14, 18, 12, 12, 8, 6, 8.0])),
}
CHRONIC = (codes("I10", "E11.9", "J44.9", "I25.1", "N18.5", "I69.3"),
           np.array([45, 25, 10, 10, 4, 6.0]))
INPATIENT = {
    "child": (codes("J18.9", "J20.9", "A09", "K35.8"), np.array([45, 30, 15, 10.0])),
    "adult": (codes("J18.9", "K80.2", "K35.8", "S72.0", "O80", "K29.7", "I63.9", "E11.9"),
              np.array([15, 15, 12, 6, 25, 10, 7, 10.0])),
    "elder": (codes("J18.9", "I63.9", "I25.1", "J44.1", "I50.9", "S72.0", "E11.9", "M17.9",
                    "K80.2"), np.array([18, 16, 14, 14, 10, 6, 8, 8, 6.0])),
}
RING_CODES = codes("I63.9", "I25.1", "M17.9", "J44.9", "I67.9", "E11.9", "I69.3")
PHANTOM_CODES = codes("I10", "J06.9", "M54.5", "R51")
GATHERING_CODES = codes("I10", "E11.9", "M17.9", "I25.1", "J44.9", "I69.3", "R42", "M54.5")
IDENTITY_CODES = codes("I10", "E11.9", "J06.9", "M54.5", "K29.7", "R51")
REHAB_CODES = codes("I69.3", "I69.4", "I69.8")

# Money by tier (yuan): outpatient base, inpatient per day, fund ratios (out, inpatient).
OUT_BASE = np.array([320, 180, 150, 80, 35, 60, 0.0])
DAY_COST = np.array([1500, 900, 650, 420, 0, 0, 0.0])
OUT_RATIO = np.array([0.45, 0.5, 0.45, 0.55, 0.6, 0.5, 0.3])
INP_RATIO = np.array([0.55, 0.65, 0.6, 0.8, 0.0, 0.0, 0.0])

# Name parts (fictional places and people).
CITY = "云州"
PLACE_A = "青云石清白东西南北长安永宁丰太平宝龙凤金新黄红桃柳杨梅竹松兰花双三高" \
          "大小上下马牛古乐福兴隆和顺康富春秋"
PLACE_B = "山川溪河湖桥塘坪岭湾坝源田庄冈口林洲坑埠岗峰阳泉"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌辉鹏飞宇晨"
PHARMACY_BRANDS = ("百姓", "康民", "仁和", "益丰", "国药", "同济", "老百姓", "华东", "众康", "惠民")
PRIVATE_NAMES = ("仁爱医院", "康复医院", "博爱医院", "济民医院", "骨科医院", "中西医结合医院",
                 "慈济医院", "安康医院", "华康医院", "和平医院")
