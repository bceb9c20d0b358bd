"""Hand-written cue words for the featuriser: negators, contrast markers, intensifiers, polarity.

Written for Ascolto from general knowledge of Italian and English (no word list was taken
from a data set). They are *cues*: the trained heads decide how much each one counts, and
``ascolto explain`` shows them when they fire. Italian polarity entries are stems (the word
without its final vowel), so 'ottimo', 'ottima', 'ottimi', 'ottime' all hit 'ottim'.
"""

from __future__ import annotations

NEGATORS = {
    "it": frozenset("non nn nun mai nessuno nessuna nessun niente nulla né neanche nemmeno neppure mica manco senza zero".split()),
    "en": frozenset(
        """not no never nothing nobody none neither nor without cannot cant dont doesnt didnt isnt arent wasnt
        werent wont wouldnt couldnt shouldnt havent hasnt hadnt aint zero""".split()
    ),
}
CONTRAST_WORDS = {
    "it": frozenset("ma però pero invece tuttavia eppure comunque peccato".split()),
    "en": frozenset("but however though although nevertheless yet except".split()),
}
INTENSIFIERS = {
    "it": frozenset(
        """molto troppo tanto tanta tantissimo davvero veramente proprio super stra assolutamente così cosi
        parecchio estremamente totalmente completamente incredibilmente sempre più piu""".split()
    ),
    "en": frozenset(
        """very so really too extremely super totally absolutely incredibly completely such most
        highly truly seriously damn""".split()
    ),
}

# Italian: stems (final vowel removed) of words whose polarity rarely depends on context.
_IT_POS = """ottim buon bell bellissim fantastic stupend meravigli perfett eccellent grazi brav
    contentissim content felic soddisfatt veloc rapid gentil cortes disponibil professional affidabil
    consigli top amo ador adorat delizios gustos squisit favolos incredibil geniale genial spettacol
    piacevol comod econom convenient conveniente risolt funzion efficient chiar semplic facil
    miglior seren puntual fresc fragrant croccant morbid preferit goduri salvat salvavit eroe promoss chapeau
    tranquill impeccabil mitic fenomenal spettacolar eccezional reattiv stabil fluid integr onest generos""".split()
_IT_NEG = """pessim brutt schif orribil terribil vergogn vergognos scandal scandalos lent car costos
    inutil incompetent maleducat scortes rott guast bloccat disservizi disastr disastros delus delusion
    arrabbiat incazzat furios stuf schifos ridicol assurd inaccettabil peggior peggio odi odio trist
    problem error sbagliat difettos scadut stantii stantì rancid bruciat insipid immangiabil
    trufa truff ladr buffon vergognatev cancellat inaffidabil lentissim carissim mal male malissim
    paura preoccupat sprec attesa giù giu offline crash bug disconness interrott interruzion mollicc rovinat
    ammaccat muff labirint macchinos incomprensibil penos scars pietos imbarazzant indecent squallid
    insopportabil intollerabil fregatur fregat ritard lentezz esos""".split()
_EN_POS = """good great excellent amazing awesome fantastic wonderful perfect love loved loving lovely best
    better nice happy glad pleased thanks thank thx fast quick friendly helpful polite reliable recommend
    recommended delicious tasty fresh crispy smooth easy simple clear impressive incredible brilliant
    superb outstanding solid cheap affordable fair favourite favorite enjoy enjoyed fun beautiful
    cool win winner stable secure resolved fixed works working worth saved hero impressed flawless painless
    sorted lifesaver props kudos respect bliss dream handy thrilled spotless seamless snappy legend speedy
    prompt efficient responsive generous honest grateful appreciate appreciated gem""".split()
_EN_NEG = """bad worse worst awful terrible horrible poor hate hated hates disappointing disappointed
    disappointment slow expensive overpriced useless rude broken down outage fail failed failure fails
    angry furious annoyed annoying frustrated frustrating ridiculous unacceptable scam scammed
    thieves liars clowns idiots incompetent joke pathetic disgusting gross stale soggy burnt bland
    unreliable problem problems issue issues error errors bug buggy crash crashed crashes stuck
    sad sorry unfortunately wrong missing lost waiting waste wasted refund cancel cancelled
    sick tired stupid dumb shame shameful nightmare mess garbage trash crap sucks suck offline crawling laggy
    lag unusable mould mouldy moldy ignored ghosted overcharged overcharging dropped dropping ripoff greedy
    shady dodgy misleading lied lies delayed worthless pointless fuming livid gutted upset glitch glitchy
    freezes disconnects disconnected spotty patchy""".split()
POSITIVE_WORDS = {"it": frozenset(_IT_POS), "en": frozenset(_EN_POS)}
NEGATIVE_WORDS = {"it": frozenset(_IT_NEG), "en": frozenset(_EN_NEG)}

# Emoji and emoticons. Emoticons are matched on the raw text before tokenisation.
EMOJI_POSITIVE = frozenset(
    "😀 😃 😄 😁 😆 😊 🙂 😉 😍 🥰 😘 😋 😎 🤩 🥳 😻 👍 👏 🙌 💪 🙏 ❤ 💕 💖 💗 💙 💚 💛 💜 🧡 💯 ✨ 🎉 🔝 ✅ 😇 🤗 ⭐ 🌟 🍀".split()
)
EMOJI_NEGATIVE = frozenset(
    "😡 😠 🤬 😤 😞 😢 😭 😩 😫 😖 😣 😒 🙄 😑 😐 😕 🙁 ☹ 😟 😔 😓 😰 😱 🤮 🤢 💩 👎 💔 ❌ 🐌 ⚠ 😬 🤡 🥵 😪 😴".split()
)
EMOTICONS_POSITIVE = (":-)", ":)", ":-D", ":D", "=)", ";-)", ";)", ":P", ":-P", "<3", "xD", "XD", "^^", "^_^", ":]")
EMOTICONS_NEGATIVE = (">:(", ":-(", ":(", ":'(", ":/", ":-/", ":|", ":@", "D:", ":S", "-_-", "</3", ":[")

# Intent cues: words that ask, buy or leave (general usage, not taken from any data set).
QUESTION_WORDS = {
    "it": frozenset(
        "come quando perché perche dove chi quale quali quanto quanta quanti cosa qualcuno sapete sai potete possibile".split()
    ),
    "en": frozenset("how when why where who which what anyone anybody does do can could is are any".split()),
}
PURCHASE = {
    "it": frozenset(
        """comprare compro comprato acquistare acquisto acquistato ordinare ordino ordinato abbonarmi abbonamento
        attivare attivo attivazione prendere prendo provare provo passare conviene offerta prezzo preventivo""".split()
    ),
    "en": frozenset(
        """buy buying bought purchase purchasing order ordering subscribe subscribing upgrade upgrading try trying
        considering thinking plan plans deal offer price quote worth signup""".split()
    ),
}
CHURN = {
    "it": frozenset(
        """disdetta disdire disdico disdetto recesso cambio cambiare cambierò cambiero passo lascio lasciare addio
        migro migrare migrazione basta chiudo chiudere cancello cancellare ultima ultimo mai più""".split()
    ),
    "en": frozenset(
        """cancel cancelling canceling cancelled switching switch switched leaving leave left goodbye moving unsubscribe
        terminate terminating quit quitting done last competitor elsewhere""".split()
    ),
}

# Insults and profanity aimed at people or companies (the offensive cue; they also count as negative).
INSULTS = {
    "it": frozenset(
        """ladri ladro truffatori truffatore buffoni buffone pagliacci pagliaccio cialtroni cialtrone incompetenti
        idioti idiota imbecilli imbecille deficienti deficiente cretini cretino stronzi stronzo coglioni coglione
        merda merde cazzo cazzate vaffanculo fanculo schifosi schifoso sfigati scemi scemo somari vergognatevi
        parassiti sanguisughe criminali delinquenti farabutti mafiosi venduti bastardi porci maiali stronza stronze
        troia troie puttana puttane zoccola zoccole bastardo bastarda minchia minchione cagare culo vaffa sfigato
        demente dementi cesso falliti fallito merdoso merdosa cagata stronzate fottiti fottuto fottuti
        porcoddio cornuto cornuti rincoglionito rincoglioniti""".split()
    ),
    "en": frozenset(
        """idiots idiot clowns clown thieves thief scammers scammer crooks crook morons moron stupid dumb losers loser
        liars liar incompetent pathetic garbage trash crap shit shitty fuck fucking fucked bullshit ass asshole
        assholes bastards bastard jerks jerk dickheads suckers frauds fraud criminals parasites bitch bitches whore
        slut sluts dick dicks dickhead pussy cunt cunts wtf stfu scumbag scumbags douche douchebag dumbass
        jackass piss pissed motherfucker fuckin fck""".split()
    ),
}

# Slurs against groups (sexual orientation, gender identity, disability, origin): the hate-speech cue.
# Written from general knowledge so that a head can learn "a slur is present" even for a spelling
# it rarely saw; the research sets label homotransphobic and political hate (HODI, HaSpeeDe).
SLURS = {
    "it": frozenset(
        """frocio froci frocia frocetto frocetti ricchione ricchioni recchione culattone culattoni finocchio finocchi
        checca checche travone travoni travestiti pervertito pervertiti invertito invertiti sodomiti lesbicona
        lesbicone negro negri negra zingaro zingari zingara zingaracci terrone terroni mongoloide mongoloidi
        ritardato ritardati handicappato handicappati""".split()
    ),
    "en": frozenset("fag fags faggot faggots dyke dykes tranny trannies retard retards retarded homo homos".split()),
}

# Words that mark irony in complaints ("evviva, anche oggi down"): the sarcasm cue.
IRONY = {
    "it": frozenset("evviva complimentoni ovviamente figurati 🙃 🙄 🤡".split()),
    "en": frozenset("sure yeah obviously genius lmao lol wow 🙃 🙄 🤡".split()),
}

# Token kinds, for the cues of ``pipelines.nlp.features.analyse``.
PLAIN, NEGATOR, CONTRAST, INTENSIFIER, POSITIVE, NEGATIVE, EMOJI_POS, EMOJI_NEG, CLAUSE_END, MARK, ASK, BUY, LEAVE, INSULT = range(14)
SLUR, IRONIC = 14, 15
KINDS: dict[str, dict[str, int]] = {"it": {}, "en": {}}  # token -> kind, filled on first sight


def token_kind(t: str, lang: str) -> int:
    """What a token is for the cues (cached per language, bounded)."""
    kinds = KINDS[lang]
    k = kinds.get(t)
    if k is None:
        k = _token_kind(t, lang)
        if len(kinds) > 500_000:
            kinds.clear()
        kinds[t] = k
    return k


def _token_kind(t: str, lang: str) -> int:
    if t in "!?":
        return MARK
    if t in ".,;:":
        return CLAUSE_END
    if t in EMOJI_POSITIVE or t == "_epos_":
        return EMOJI_POS
    if t in EMOJI_NEGATIVE or t == "_eneg_":
        return EMOJI_NEG
    if t in IRONY[lang]:
        return IRONIC
    if t in INSULTS[lang]:
        return INSULT
    if t in SLURS[lang]:
        return SLUR
    if t in NEGATORS[lang] or (lang == "en" and t.endswith("n't")):
        return NEGATOR
    if t in CONTRAST_WORDS[lang]:
        return CONTRAST
    if t in INTENSIFIERS[lang]:
        return INTENSIFIER
    if t in QUESTION_WORDS[lang]:
        return ASK
    if t in PURCHASE[lang]:
        return BUY
    if t in CHURN[lang]:
        return LEAVE
    p = polarity(t, lang)
    return POSITIVE if p > 0 else NEGATIVE if p < 0 else PLAIN


def polarity(token: str, lang: str) -> int:
    """+1, -1 or 0 from the lexicon; Italian also tries the stem (superlatives and adverbs too:
    "velocissimo", "velocemente" -> "veloc"); elongated words their short form."""
    pos, neg = POSITIVE_WORDS[lang], NEGATIVE_WORDS[lang]
    forms = [token, token[:-1]] if len(token) > 2 and token[-1] == token[-2] else [token]
    if lang == "it":
        for t in list(forms):
            if len(t) > 8 and "issim" in t[3:]:
                forms.append(t[: t.index("issim", 3)] + "o")  # "velocissime" -> "veloco" -> stem "veloc"
            elif len(t) > 7 and t.endswith("mente"):
                forms.append(t[:-5])  # "velocemente" -> "veloce"
    for t in forms:
        if t in pos:
            return 1
        if t in neg:
            return -1
        if lang == "it" and len(t) > 3 and t[-1] in "aeiou":
            if t[:-1] in pos:
                return 1
            if t[:-1] in neg:
                return -1
        if lang == "en" and len(t) > 4 and t[-1] == "s" and t[:-1] in pos | neg:
            return 1 if t[:-1] in pos else -1
    return 0
