"""The fictional service directory's vocabulary: category and community weights, group names and services.

Borough-wide and city-wide services never offer carers' support or list the carers or
BAME communities, and city-wide ones never offer dementia support, so that the
deliberate gaps (:mod:`.gaps`) stay visible.
"""

from __future__ import annotations

from ..taxonomy import BUILTIN_CATEGORIES, BUILTIN_COMMUNITIES

CATEGORIES = tuple(BUILTIN_CATEGORIES)
COMMUNITIES = tuple(BUILTIN_COMMUNITIES)

#: How often a local group has each category first.
CATEGORY_WEIGHT = {
    "mental_health": 12, "physical_activity": 13, "loneliness_isolation": 11, "arts_creativity": 8,
    "nature_green_space": 6, "debt_benefits_advice": 5, "housing": 3, "employment_skills": 4,
    "learning_volunteering": 5, "peer_support": 6, "befriending": 5, "food_nutrition": 6,
    "long_term_conditions": 4, "dementia": 4, "carers_support": 4, "domestic_abuse": 1.2,
    "substance_misuse": 1.2,
}  # fmt: skip
#: Categories that often come together with the first one.
COMPANIONS = {
    "mental_health": ("peer_support", "loneliness_isolation", "arts_creativity", "physical_activity"),
    "dementia": ("loneliness_isolation", "carers_support", "arts_creativity", "befriending"),
    "carers_support": ("mental_health", "peer_support", "loneliness_isolation"),
    "loneliness_isolation": ("befriending", "food_nutrition", "mental_health", "arts_creativity"),
    "physical_activity": ("mental_health", "loneliness_isolation", "long_term_conditions", "nature_green_space"),
    "arts_creativity": ("mental_health", "loneliness_isolation", "learning_volunteering"),
    "nature_green_space": ("physical_activity", "mental_health", "learning_volunteering", "food_nutrition"),
    "debt_benefits_advice": ("housing", "employment_skills", "food_nutrition"),
    "housing": ("debt_benefits_advice", "substance_misuse", "mental_health"),
    "employment_skills": ("learning_volunteering", "debt_benefits_advice", "mental_health"),
    "learning_volunteering": ("employment_skills", "loneliness_isolation", "arts_creativity"),
    "peer_support": ("mental_health", "long_term_conditions", "substance_misuse"),
    "befriending": ("loneliness_isolation", "mental_health"),
    "food_nutrition": ("debt_benefits_advice", "loneliness_isolation", "long_term_conditions"),
    "long_term_conditions": ("physical_activity", "peer_support", "mental_health"),
    "domestic_abuse": ("mental_health", "housing", "peer_support"),
    "substance_misuse": ("mental_health", "peer_support", "housing"),
}
COMMUNITY_WEIGHT = {
    "older_people": 26, "carers": 6, "bame": 10, "young_people": 14, "lgbtq": 5,
    "disabled_people": 10, "women": 10, "men": 7, "refugees": 4,
}  # fmt: skip
LOCAL_NAMES = {
    "mental_health": (
        "Wellbeing Café",
        "Mind & Mood Group",
        "Talking Space",
        "Anxiety Support Group",
        "Mindfulness Circle",
        "Hearing Voices Group",
        "Wellbeing Hub",
    ),
    "dementia": ("Dementia Café", "Memory Café", "Singing for Memory", "Forget-Me-Not Club", "Dementia Carers' Lunch"),
    "carers_support": ("Carers' Café", "Carers Support Group", "Young Carers Club", "Carers' Drop-in"),
    "loneliness_isolation": (
        "Lunch Club",
        "Friendship Group",
        "Knit & Natter",
        "Coffee Morning",
        "Community Café",
        "Tea & Chat",
    ),
    "physical_activity": (
        "Walking Group",
        "Chair Yoga",
        "Walking Football",
        "Cycling Club",
        "Tai Chi Class",
        "Dance Fitness",
        "Parkrun Buddies",
    ),
    "arts_creativity": (
        "Community Choir",
        "Art Club",
        "Pottery Studio",
        "Ukulele Group",
        "Creative Writing Circle",
        "Crochet Café",
    ),
    "nature_green_space": (
        "Community Garden",
        "Allotment Society",
        "Friends of the Park",
        "Green Gym",
        "Orchard Project",
    ),
    "debt_benefits_advice": ("Money Advice Drop-in", "Benefits Clinic", "Welfare Rights Surgery"),
    "housing": ("Housing Advice Surgery", "Tenants' Association", "Homeless Drop-in"),
    "employment_skills": ("Job Club", "CV & Résumé Clinic", "Digital Skills Hub", "Work Club"),
    "learning_volunteering": ("Adult Learning Centre", "Volunteer Hub", "Library Learning", "Conversation Café"),
    "peer_support": ("Peer Support Group", "Recovery Café", "Bereavement Café", "Self-Help Circle"),
    "befriending": ("Befriending Scheme", "Good Neighbours", "Phone Friends"),
    "food_nutrition": ("Food Bank", "Community Pantry", "Cook & Eat Club", "Community Fridge"),
    "long_term_conditions": (
        "Breathe Easy Group",
        "Diabetes Support Group",
        "Stroke Club",
        "Pain Management Café",
        "Parkinson's Support Group",
    ),
    "domestic_abuse": ("Safe Space Drop-in", "Domestic Abuse Support Group", "Survivors' Circle"),
    "substance_misuse": ("Alcohol Support Group", "Drug & Alcohol Drop-in", "Recovery Walk"),
}
COMMUNITY_NAMES = {
    "older_people": ("Over-60s Club", "Silver Sociable", "Seniors' Lunch Club"),
    "carers": ("Carers' Café", "Carers' Coffee Club"),
    "bame": (
        "South Asian Women's Group",
        "African Caribbean Elders",
        "Bangladeshi Welfare Association",
        "Chinese Community Centre",
        "Somali Community Hub",
        "Punjabi Wellbeing Circle",
        "Yemeni Community Association",
        "Kurdish Community Centre",
    ),
    "young_people": ("Youth Club", "Young People's Wellbeing Project"),
    "lgbtq": ("Rainbow Café", "LGBTQ+ Social", "Pride Walkers"),
    "disabled_people": ("Inclusive Sports Club", "Disability Forum", "Accessible Arts"),
    "women": ("Women's Wellbeing Circle", "Women's Walking Group", "Women's Café"),
    "men": ("Men's Shed", "Men's Talking Group", "Men's Walking Football"),
    "refugees": ("Refugee Welcome Drop-in", "English Conversation Café", "New Neighbours Project"),
}
VENUES = (
    "Mill Lane",
    "Church Street",
    "Canalside",
    "Victoria Road",
    "St Bede's",
    "Station Road",
    "Market Place",
    "Brook Street",
    "Chapel Row",
    "Park View",
    "Weaver's Yard",
    "Hope Street",
)
#: Borough-wide services: (name after the borough, categories, communities). None of them
#: offers carers' support or lists carers or BAME communities (those stay local).
BOROUGH_SERVICES = (
    ("Talking Therapies", ("mental_health",), ()),
    ("Healthy Minds", ("mental_health", "peer_support"), ()),
    ("Dementia Advisers", ("dementia",), ("older_people",)),
    ("Memory Support Service", ("dementia", "befriending"), ()),
    ("Welfare Rights Service", ("debt_benefits_advice",), ()),
    ("Community Connectors", ("loneliness_isolation",), ()),
    ("Adult Learning Service", ("learning_volunteering", "employment_skills"), ()),
    ("Active Lifestyles", ("physical_activity",), ()),
    ("Housing Solutions", ("housing",), ()),
    ("Food Network", ("food_nutrition",), ()),
    ("Befriending Scheme", ("befriending", "loneliness_isolation"), ("older_people",)),
    ("Recovery Service", ("substance_misuse",), ()),
    ("Domestic Abuse Outreach", ("domestic_abuse",), ("women",)),
    ("Employment Hub", ("employment_skills",), ()),
    ("Heart & Lung Support", ("long_term_conditions",), ()),
    ("Volunteer Hub", ("learning_volunteering",), ()),
    ("Arts Network", ("arts_creativity",), ()),
    ("Green Spaces Volunteers", ("nature_green_space",), ()),
    ("Youth Service", ("mental_health", "physical_activity"), ("young_people",)),
)
#: City-wide organisations: (service, categories, communities, weight). No dementia, no
#: carers' support and no carers or BAME communities: those gaps must stay visible.
CITYWIDE_SERVICES = (
    ("Mental Health Helpline", ("mental_health",), (), 5),
    ("Crisis Text Line", ("mental_health",), ("young_people",), 2),
    ("Recovery College", ("mental_health", "learning_volunteering"), (), 2),
    ("Bereavement Support Line", ("mental_health", "peer_support"), (), 2),
    ("Men's Mental Health Network", ("mental_health", "peer_support"), ("men",), 1),
    ("Debt Advice Line", ("debt_benefits_advice",), (), 4),
    ("Welfare Benefits Helpline", ("debt_benefits_advice", "housing"), (), 2),
    ("Domestic Abuse Service", ("domestic_abuse",), ("women",), 3),
    ("Domestic Abuse Helpline", ("domestic_abuse",), (), 2),
    ("Drug & Alcohol Service", ("substance_misuse",), (), 3),
    ("Housing Advice Line", ("housing",), (), 2),
    ("Telephone Befriending", ("befriending", "loneliness_isolation"), ("older_people",), 2),
    ("LGBTQ+ Switchboard", ("mental_health", "peer_support"), ("lgbtq",), 1),
    ("Refugee Support Network", ("housing", "debt_benefits_advice"), ("refugees",), 1),
    ("Employment Support Line", ("employment_skills",), (), 1),
    ("Food Poverty Network", ("food_nutrition",), (), 1),
    ("Sight Loss Support", ("long_term_conditions",), ("disabled_people",), 1),
    ("Long-Term Conditions Network", ("long_term_conditions", "peer_support"), (), 1),
    ("Green Prescribing Network", ("nature_green_space", "physical_activity"), (), 1),
    ("Arts on Prescription", ("arts_creativity", "mental_health"), (), 1),
)
BRANDS = (
    "Beacon",
    "Open Door",
    "Lantern",
    "Harbour",
    "Compass",
    "Northern Light",
    "Kindred",
    "Threshold",
    "Keystone",
    "Evergreen",
    "Anchor",
    "Bridgeway",
    "Hearth",
    "Waypoint",
    "Clearwater",
)
RADIUS_KM = (2, 3, 3, 4, 5, 8)
