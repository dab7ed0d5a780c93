"""The password policy (NIST SP 800-63B §5.1.1.2: length and a blocklist, no composition rules)."""

MIN_LENGTH = 12

# Argon2id cost (OWASP Password Storage Cheat Sheet: m=7 MiB, t=5, p=1 is one of the five
# settings it rates equally strong). Measured on a 2-core clinic server with libsodium, one check
# took 9.9 ms at this setting, 13.8 ms at 12 MiB / 3 passes and 23.7 ms at 19 MiB / 2 passes.
# The argon2-cffi default (64 MiB, 4 lanes) took ~300 ms a log-in and let a burst of log-ins
# exhaust the server's memory.
ARGON2_MEMORY_KIB = 7 * 1024
ARGON2_TIME_COST = 5
ARGON2_LANES = 1

# Passwords of 12 characters or more that top published breach-frequency lists (keyboard
# walks, number runs, "password" and "iloveyou" variants, names, teams and brands with digits),
# plus the product's and the clinic's own words: an attacker tries these first. Written out by
# hand; compared in lower case.
COMMON_PASSWORDS = frozenset(
    """
    123456789012 1234567890123 12345678901234 123456789012345 1234567890000 123456789123
    1234567891011 12345678910111 123456789101 1234567890qwe 123456789abc 123456789qwe
    123456789asd 123456789zxc 123456qwerty 123456abcdef 123456654321 123456123456
    123123123123 123321123321 121212121212 112233445566 111222333444 111111111111
    000000000000 222222222222 666666666666 777777777777 888888888888 999999999999
    098765432109 098765432112 987654321098 987654321012 987654321987 0987654321qw
    147258369147 147258369258 159753159753 159357159357 741852963741 789456123789
    789456123000 147852369147 963852741963 123654789123 135792468135 246813579246
    012345678910 010203040506 101010101010 202020202020 123412341234 432143214321
    qwertyuiopas qwertyuiop12 qwertyuiop123 qwertyuiop1234 qwertyuiopasdf qwerty123456
    qwerty1234567 qwerty12345678 qwerty123456789 qwertyqwerty qwertyqwerty1 qwerty123qwerty
    qwertyasdfgh qwertyasdfghjkl qwertyuiopasdfghjkl asdfghjkl123 asdfghjkl1234 asdfghjklqwe
    asdfasdfasdf asdf1234asdf asdfqwerzxcv zxcvbnm12345 zxcvbnm123456 zxcvbnmasdfgh
    1qaz2wsx3edc 1qaz2wsx3edc4rfv 1qazxsw23edc 1qazxsw2cde3 zaq12wsxcde3 zaq1xsw2cde3
    zaq1zaq1zaq1 qazwsxedcrfv qazwsxedc123 qazwsx123456 1q2w3e4r5t6y 1q2w3e4r5t6y7u
    1q2w3e4r5t6y7u8i q1w2e3r4t5y6 q1w2e3r4t5y6u7 a1b2c3d4e5f6 1a2b3c4d5e6f abc123abc123
    123abc123abc abcd12345678 abcdefghijkl abcdefghijklm abcdefg12345 abcdef123456
    abc123456789 abcabcabcabc aaaaaa111111 aa123456789a 123qweasdzxc 123qweasdzxc123
    qweasdzxc123 qweasdzxcqwe 1qaz!qaz1qaz !qaz2wsx#edc 1qaz@wsx3edc qwer1234qwer
    password1234 password12345 password123456 password1234567 password123456789
    passwordpassword password123! password1234! password2020 password2021 password2022
    password2023 password2024 password2025 passw0rd1234 passw0rd12345 p@ssw0rd1234
    p@ssword1234 p@ssw0rd123! pa55word1234 pass12345678 pass123456789 password0000
    password1111 mypassword12 mypassword123 newpassword1 newpassword123 secretpassword
    mysecretpassword changeme1234 changeme12345 changemenow1 changemeplease letmein12345
    letmein123456 letmeinplease letmeinnow123 welcome12345 welcome123456 welcome2023!
    welcome2024! welcometothejungle welcomehome1 administrator administrator1 admin1234567
    admin12345678 adminadmin123 adminpassword rootpassword rootroot1234 superuser123
    defaultpassword default12345 guestguest12 testtest1234 test12345678 testing12345
    temppassword temp12345678 iloveyou1234 iloveyou12345 iloveyou123456 iloveyouforever
    iloveyousomuch iloveyoubaby iloveyou2024 iloveyoumore iloveyoutoo1 iloveyouloveme
    loveyouforever ilovemyfamily ilovemymom123 ilovemykids1 ilovejesus123 jesuschrist1
    jesusislord1 godisgood123 blessed12345 trustno1trustno1 trustnoone123 football1234
    football12345 football123456 baseball1234 baseball12345 basketball12 basketball123
    basketball1234 soccer123456 hockey123456 liverpool123 liverpool1234 chelsea12345
    arsenal12345 manchester12 manchesterunited manutd123456 barcelona123 barcelona1234
    realmadrid12 realmadrid123 juventus1234 cowboys12345 steelers1234 yankees12345
    lakers123456 superman1234 superman12345 batman123456 batman1234567 spiderman123
    spiderman1234 starwars1234 starwars12345 pokemon12345 pokemon123456 minecraft123
    minecraft1234 fortnite1234 playstation1 playstation2 playstation123 nintendo1234
    xboxlive1234 princess1234 princess12345 sunshine1234 sunshine12345 butterfly123
    butterfly1234 chocolate123 chocolate1234 strawberry12 cheesecake12 pineapple123
    watermelon12 computer1234 computer12345 internet1234 internet12345 monkey123456
    monkeymonkey dragon123456 dragondragon shadow123456 master123456 mastermaster
    michael12345 michael123456 jennifer1234 jessica12345 ashley123456 michelle1234
    nicole123456 charlie12345 thomas123456 matthew12345 anthony12345 daniel123456
    andrew123456 joshua123456 william12345 christopher1 christopher12 christopher123
    elizabeth123 alexander123 victoria1234 samantha1234 stephanie123 jonathan1234
    benjamin1234 nathaniel123 katherine123 margaret1234 patricia1234 jordan232323
    michaeljordan hellohello12 hellohello123 helloworld12 helloworld123 hello1234567
    hello123456789 goodmorning1 goodbye12345 whatever1234 whatever12345 nothing12345
    something123 thequickbrownfox opensesame12 opensesame123 blink182blink sk8erboi1234
    linkinpark12 greenday1234 metallica123 nirvana12345 thebeatles12 rockandroll1
    rocknroll123 summer123456 summertime12 winter123456 spring123456 autumn123456
    january12345 december1234 september123 baseball2024 football2024 christmas123
    christmas2024 happybirthday happydays123 freedom12345 liberty12345 america12345
    unitedstates canada123456 australia123 newyorkcity1 california12 losangeles12
    sanfrancisco mustang12345 corvette1234 harleydavidson ferrari12345 porsche12345
    mercedes1234 asdfghjkl;'12 qwertyuiop[] 1qaz2wsx!qaz@wsx zxcvbnm,./12 ncc1701ncc1701
    matrix123456 myspace12345 facebook1234 facebook12345 linkedin1234 instagram123
    twitter12345 google123456 microsoft123 windows12345 apple1234567 iphone123456
    samsung12345 psiflow-demo psiflowpsiflow psiflow12345 psiflow123456 psilocybin123
    psilocybin1234 psychedelic1 psychedelic123 mushrooms123 magicmushroom mdmamdmamdma
    ketamine1234 therapist123 therapy12345 therapy123456 clinician123 clinician1234
    supervisor123 supervisor1234 trainee12345 doctor123456 nurse1234567 medical12345
    hospital1234 clinic123456 patient12345 healthcare123 psychiatry12 psychology12
    counselling1 mentalhealth mentalhealth1 wellness1234 mindfulness1 meditation12
    integration1 correcthorsebatterystaple correcthorse1 onetwothreefour onetwothree123
    iamthebest123 letmein!letmein passwordisgood mypasswordis12 thisismypassword
    """.split()
)


def password_problems(password: str, email: str = "") -> list[str]:
    """Why `password` may not be used; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        problems.append("This password is too common or too simple; choose another.")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not use your email address in your password.")
    return problems
