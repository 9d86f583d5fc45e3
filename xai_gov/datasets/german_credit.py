"""The UCI Statlog German Credit data, with readable names and category labels.

The coded file ships unchanged beside this module (see data/ATTRIBUTION.md for
source, licence CC BY 4.0, and hash). Labels follow the UCI attribute
documentation, written out in plain ASCII so every report font can show them.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

TARGET = "credit_risk"
GOOD, BAD = "good", "bad"

# (column name, human label, code -> category label or None for a numeric attribute),
# in the order of the columns of german.data.
_ATTRIBUTES: tuple[tuple[str, str, dict[str, str] | None], ...] = (
    ("checking_account", "Checking account balance", {
        "A11": "below 0 DM",
        "A12": "0 to 200 DM",
        "A13": "200 DM or more, or salary paid in for 1 year or more",
        "A14": "no checking account",
    }),
    ("duration_months", "Loan duration (months)", None),
    ("credit_history", "Credit history", {
        "A30": "no credits taken or all paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly so far",
        "A33": "delay in paying off in the past",
        "A34": "critical account or credits at other banks",
    }),
    ("purpose", "Purpose of the loan", {
        "A40": "new car",
        "A41": "used car",
        "A42": "furniture or equipment",
        "A43": "radio or television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "other",
    }),
    ("credit_amount", "Credit amount (DM)", None),
    ("savings", "Savings account and bonds", {
        "A61": "below 100 DM",
        "A62": "100 to 500 DM",
        "A63": "500 to 1000 DM",
        "A64": "1000 DM or more",
        "A65": "unknown or no savings account",
    }),
    ("employment_since", "Present employment since", {
        "A71": "unemployed",
        "A72": "less than 1 year",
        "A73": "1 to 4 years",
        "A74": "4 to 7 years",
        "A75": "7 years or more",
    }),
    ("installment_rate", "Instalment rate (% of disposable income)", None),
    ("personal_status_sex", "Personal status and sex", {
        "A91": "male, divorced or separated",
        "A92": "female, divorced, separated or married",
        "A93": "male, single",
        "A94": "male, married or widowed",
        "A95": "female, single",
    }),
    ("other_debtors", "Other debtors or guarantors", {
        "A101": "none",
        "A102": "co-applicant",
        "A103": "guarantor",
    }),
    ("residence_since", "Present residence since (years)", None),
    ("property", "Most valuable property", {
        "A121": "real estate",
        "A122": "building society savings or life insurance",
        "A123": "car or other property",
        "A124": "unknown or no property",
    }),
    ("age", "Age (years)", None),
    ("other_installment_plans", "Other instalment plans", {
        "A141": "bank",
        "A142": "stores",
        "A143": "none",
    }),
    ("housing", "Housing", {
        "A151": "rent",
        "A152": "own",
        "A153": "for free",
    }),
    ("existing_credits", "Number of existing credits at this bank", None),
    ("job", "Job", {
        "A171": "unemployed or unskilled, non-resident",
        "A172": "unskilled, resident",
        "A173": "skilled employee or official",
        "A174": "management, self-employed or highly qualified",
    }),
    ("dependents", "Number of people liable to provide maintenance for", None),
    ("telephone", "Telephone", {
        "A191": "none",
        "A192": "yes, registered in the applicant's name",
    }),
    ("foreign_worker", "Foreign worker", {
        "A201": "yes",
        "A202": "no",
    }),
)

#: Human label of every feature, by column name.
GERMAN_CREDIT_LABELS: dict[str, str] = {name: label for name, label, _ in _ATTRIBUTES}
GERMAN_CREDIT_LABELS[TARGET] = "Credit risk"


def load_german_credit() -> pd.DataFrame:
    """All 1,000 applicants: 20 feature columns plus ``credit_risk`` ("good"/"bad").

    Categorical columns hold their readable labels as strings; numeric columns
    are int64.
    """
    text = resources.files("xai_gov.datasets").joinpath("data/german.data").read_text("ascii")
    rows = [line.split() for line in text.splitlines() if line.strip()]
    columns: dict[str, list[object]] = {}
    for position, (name, _label, codes) in enumerate(_ATTRIBUTES):
        raw = [row[position] for row in rows]
        columns[name] = [codes[value] for value in raw] if codes else [int(value) for value in raw]
    columns[TARGET] = [GOOD if row[len(_ATTRIBUTES)] == "1" else BAD for row in rows]
    return pd.DataFrame(columns)
