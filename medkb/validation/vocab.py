"""Reference data the suites check against: code systems per resource type, LOINC units and
physiological ranges. Ranges are deliberately wide (what a living patient can show, not what is
normal): they catch unit mix-ups and typing errors such as a heart rate of 2,000, not disease.
"""

from __future__ import annotations

CLINICAL_RESOURCE_TYPES = (
    "Condition", "Observation", "MedicationRequest", "Procedure", "Encounter", "DocumentReference",
)

# (resource type, code system) pairs a record may carry; systems as the FHIR reader names them.
CODE_SYSTEMS = frozenset({
    ("Condition", "snomed"),
    ("Observation", "loinc"),
    ("MedicationRequest", "rxnorm"),
    ("Procedure", "snomed"),
    ("Encounter", "snomed"),
    ("DocumentReference", "loinc"),
})

# LOINC code -> the UCUM units accepted for it.
_UNITS = {
    "8867-4": ("/min",), "9279-1": ("/min",),                       # heart rate, respiratory rate
    "8480-6": ("mm[Hg]",), "8462-4": ("mm[Hg]",),                   # systolic, diastolic pressure
    "8310-5": ("Cel",), "2708-6": ("%",), "59408-5": ("%",),        # temperature, O2 saturation
    "29463-7": ("kg",), "8302-2": ("cm",), "39156-5": ("kg/m2",),   # weight, height, BMI
    "9843-4": ("cm",), "72514-3": ("{score}",),                     # head circumference, pain
    "718-7": ("g/dL",), "4544-3": ("%",), "789-8": ("10*6/uL",), "6690-2": ("10*3/uL",),
    "777-3": ("10*3/uL",), "785-6": ("pg",), "786-4": ("g/dL",), "787-2": ("fL",),
    "21000-5": ("fL",), "32207-3": ("fL",), "32623-1": ("fL",),
    "4548-4": ("%",), "2339-0": ("mg/dL",), "2345-7": ("mg/dL",),   # HbA1c, glucose
    "2093-3": ("mg/dL",), "2571-8": ("mg/dL",), "18262-6": ("mg/dL",), "2085-9": ("mg/dL",),
    "33914-3": ("mL/min/{1.73_m2}", "mL/min"),                     # eGFR (Synthea writes both)
    "2160-0": ("mg/dL",), "38483-4": ("mg/dL",), "6299-2": ("mg/dL",), "3094-0": ("mg/dL",),
    "2951-2": ("mmol/L",), "2823-3": ("mmol/L",), "2075-0": ("mmol/L",), "2028-9": ("mmol/L",),
    "6768-6": ("U/L",), "1920-8": ("U/L",), "1742-6": ("U/L",), "1975-2": ("mg/dL",),
    "1751-7": ("g/dL",), "2885-2": ("g/dL",), "14959-1": ("mg/g",), "788-0": ("%",),
    "751-8": ("10*3/uL",), "731-0": ("10*3/uL",), "713-8": ("%",), "736-9": ("%",), "706-2": ("%",),
    "5905-5": ("%",),
    # questionnaire scores and counts
    "70274-6": ("{score}",), "55758-7": ("{score}",), "89204-2": ("{score}",), "44261-6": ("{score}",),
    "82667-7": ("{score}",), "75626-2": ("{score}",), "76504-0": ("{score}",),
    "63512-8": ("{#}",), "59460-6": ("{#}",), "46240-8": ("{count}",),
    "2947-0": ("mmol/L",), "6298-4": ("mmol/L",), "2069-3": ("mmol/L",), "20565-8": ("mmol/L",),
    "17861-6": ("mg/dL",), "49765-1": ("mg/dL",),
}
LOINC_UNITS = frozenset((code, unit) for code, units in _UNITS.items() for unit in units)

# LOINC code -> (lowest, highest, name) a living patient's value can take.
LOINC_RANGES = {
    "8867-4": (10, 300, "heart_rate"),
    "9279-1": (2, 80, "respiratory_rate"),
    "8480-6": (40, 300, "systolic_bp"),
    "8462-4": (10, 200, "diastolic_bp"),
    "8310-5": (25, 45, "body_temperature"),
    "2708-6": (30, 100, "oxygen_saturation"),
    "59408-5": (30, 100, "oxygen_saturation_pulse"),
    "29463-7": (0.2, 650, "body_weight"),
    "8302-2": (20, 275, "body_height"),
    "39156-5": (5, 150, "bmi"),
    "718-7": (1, 30, "haemoglobin"),
    "4548-4": (2, 25, "hba1c"),
    "2339-0": (10, 2000, "glucose"),
    "2093-3": (30, 1500, "total_cholesterol"),
    "33914-3": (0, 250, "egfr"),
}
