"""Words the synthetic ICB is made of: fictional places, people's names, and survey comment templates.

All place names are invented; postcodes use the outward codes of a fictional "KX" postcode area, and
phone numbers come from Ofcom's range reserved for drama (07700 900000-900999), so nothing here points
at a real place or person.
"""
from __future__ import annotations

LOCALITY_NAMES = [
    "Eastfield", "Northbrook", "Westmere", "Southholme", "Ashby Vale", "Kingsford", "Riverton", "Hollowmead",
]

# For scales with more localities than the list above: prefix + suffix makes plenty of fictional names.
PLACE_PREFIXES = [
    "Ash", "Beck", "Bram", "Cold", "Elm", "Fen", "Glen", "Hare", "Ivy", "Kes", "Lark", "Mill", "Oak",
    "Pen", "Rook", "Sedge", "Thorn", "Wil", "Yar", "Brook", "Clay", "Dun", "Fair", "Gold", "High", "Low",
]
PLACE_SUFFIXES = [
    "ford", "ton", "by", "ham", "wick", "field", "mere", "stead", "well", "combe", "thorpe", "bury",
]

STREET_WORDS = [
    "Mill", "Church", "Station", "Park", "Victoria", "Orchard", "Meadow", "Willow", "Chapel", "Mount",
    "Grange", "School", "Windmill", "Cedar", "Beech", "Manor", "Bridge", "Queen's", "King's", "Spring",
]
STREET_KINDS = ["Lane", "Road", "Street", "Close", "Avenue", "Drive", "Way", "Gardens"]

GIVEN_NAMES_FEMALE = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace",
    "Freya", "Willow", "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte", "Aisha",
    "Maryam", "Zara", "Hannah", "Chloe", "Jessica", "Ruby", "Sienna", "Amara", "Layla", "Phoebe",
    "Matilda", "Harper", "Erin", "Maya", "Niamh", "Imogen", "Fatima", "Priya", "Leah",
]
GIVEN_NAMES_MALE = [
    "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry",
    "Theodore", "Freddie", "Jack", "Charlie", "Finley", "Thomas", "Alfie", "Jacob", "Lucas", "Isaac",
    "Ethan", "Joshua", "Samuel", "Daniel", "Mason", "Reuben", "Harrison", "Ibrahim", "Yusuf", "Adam",
    "Kai", "Louis", "Rory", "Dylan", "Aarav", "Omar", "Toby", "Caleb", "Elliot", "Max",
]
FAMILY_NAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
    "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
    "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
    "Morris", "Moore", "Khan", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "Ali", "Hussain",
    "Begum", "Shah", "Okafor", "Mensah", "Nowak", "Kowalski", "Murphy", "Kelly", "O'Brien", "Campbell",
    "Stewart", "Anderson", "Scott", "Young", "Mitchell", "Phillips", "Watson", "Bennett",
]

PRACTICE_STYLES = ["{place} Medical Centre", "{street} Surgery", "The {street} Practice", "{place} Health Centre"]

# Survey comments by theme. {locality}, {service} are filled in; identifier slots are filled only in the
# comments chosen to carry a planted identifier (see generator.survey_comments).
COMMENTS = {
    "waiting times": [
        "We have been waiting over a year for an assessment and nobody can tell us when it will be.",
        "The wait for {service} is far too long, we were told at least another six months.",
        "Still on the waiting list after eighteen months. Our child is struggling at school meanwhile.",
        "Waited a long time but once we were seen it was worth it.",
        "Nobody explains how long the wait will be or what we can do in the meantime.",
    ],
    "communication": [
        "Letters arrive late and appointments get changed without warning.",
        "It would help to have one person to contact instead of being passed around.",
        "Really clear explanation of the plan and what happens next.",
        "I had to chase every step myself, nobody called back.",
    ],
    "staff": [
        "The therapist was kind and my son actually looked forward to the sessions.",
        "Staff listened to us and took our worries seriously.",
        "Lovely team, very patient with my daughter.",
        "Felt rushed in the appointment and did not get to ask questions.",
    ],
    "support in school": [
        "School have been great since the plan was agreed, the support is finally in place.",
        "The school does not follow the plan and we keep having to remind them.",
        "Support in class has made a real difference to her confidence.",
    ],
    "access": [
        "The clinic is two buses away, a local session in {locality} would make it much easier.",
        "Evening or weekend appointments would help working parents.",
        "Online sessions worked well for us.",
    ],
}

# Sentences that carry a planted identifier; {value} is the identifier, the kind says what it is.
IDENTIFIER_SENTENCES = {
    "name": [
        "My son {value} has been waiting since last spring.",
        "Please pass my thanks to {value} who was brilliant with us.",
        "My daughter {value} was finally seen last week.",
    ],
    "nhs_number": [
        "Her NHS number is {value} if you need to check the referral.",
        "Reference NHS no {value}.",
    ],
    "date_of_birth": [
        "He was born on {value} and is still not assessed.",
        "Date of birth {value}, please look into it.",
    ],
    "phone": [
        "Please call me on {value} as nobody has rung back.",
        "You can reach me on {value} any afternoon.",
    ],
    "email": [
        "Email me at {value} with any update.",
        "My email is {value}.",
    ],
    "address": [
        "We live at {value} and the clinic is too far.",
        "Letters went to the wrong house, we are at {value}.",
    ],
}
