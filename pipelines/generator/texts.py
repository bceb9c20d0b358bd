"""Text fragments for the generator: Italian and English, per sector and intent.

Written for this project (no research data set is reused). Posts are assembled from an
opener, a body that names the brand or product, and an optional closer, emoji and hashtag,
so that streams are varied enough for benchmarks (new words, handles and hashtags) while
the generator still knows the truth it wrote: language, brands and intent.
"""

from __future__ import annotations

# {brand} = brand display name or alias, {product} = a product name of that brand,
# {other} = a competitor's name, {handle} = the brand's handle.
BODIES: dict[tuple[str, str, str], list[str]] = {
    ("it", "web_hosting", "complaint"): [
        "il sito è giù da stamattina con {brand}, nessuno risponde",
        "{brand} mi ha addebitato due volte il rinnovo del dominio",
        "la posta di {product} non arriva da ieri sera, ho perso ordini",
        "con {brand} il pannello va lentissimo, pagina bianca ogni volta",
        "{handle} ticket aperto da tre giorni e ancora nessuna risposta",
        "migrazione su {product} fallita, sito irraggiungibile",
        "certificato SSL scaduto e {brand} non mi ha avvisato",
        "assistenza di {brand} inesistente, sto pensando di passare a {other}",
        "backup di {product} corrotto, non riesco a ripristinare niente",
        "ennesimo disservizio {brand}, il mio ecommerce è fermo",
    ],
    ("it", "web_hosting", "question"): [
        "{handle} come faccio a puntare il dominio su {product}?",
        "qualcuno sa se {brand} offre il backup giornaliero incluso?",
        "{brand} supporta PHP 8.4 sui piani base?",
        "meglio {brand} o {other} per un piccolo ecommerce?",
        "{handle} quanto costa passare da hosting condiviso a {product}?",
        "come si configura la posta di {product} su iPhone?",
    ],
    ("it", "web_hosting", "praise"): [
        "migrato tutto su {product} in un'ora, supporto di {brand} impeccabile",
        "{brand} velocissimo, il sito carica in meno di un secondo",
        "grazie {handle}, problema risolto in dieci minuti",
        "cinque anni con {brand} e mai un problema serio",
        "{product} fa il suo lavoro e costa poco, consigliato",
        "assistenza {brand} gentilissima anche la domenica sera",
    ],
    ("it", "web_hosting", "neutral"): [
        "oggi webinar di {brand} sulla sicurezza dei siti",
        "{brand} annuncia nuovi data center a Milano",
        "sto valutando {brand} e {other} per il nuovo progetto",
        "{product} ora ha anche lo staging automatico",
        "letto il comunicato di {brand} sui nuovi prezzi",
    ],
    ("en", "web_hosting", "complaint"): [
        "my site has been down for hours on {brand} and support is silent",
        "{brand} charged my card twice for the same renewal",
        "{product} stopped delivering email since last night",
        "{handle} ticket open for three days, still no answer",
        "the {brand} control panel is painfully slow again",
        "SSL renewal failed on {product} and nobody told me",
        "{brand} support is useless, moving to {other} next month",
        "restore from {product} backup fails every single time",
    ],
    ("en", "web_hosting", "question"): [
        "{handle} how do I point my domain to {product}?",
        "does {brand} include daily backups on the starter plan?",
        "anyone running WooCommerce on {product}? worth it?",
        "{brand} or {other} for a small online shop?",
        "{handle} is there a student discount on {product}?",
    ],
    ("en", "web_hosting", "praise"): [
        "moved everything to {product} in an hour, {brand} support was great",
        "{brand} is fast, pages load in under a second",
        "thanks {handle}, issue fixed in ten minutes",
        "five years with {brand} and never a real outage",
        "{product} just works and the price is fair",
    ],
    ("en", "web_hosting", "neutral"): [
        "{brand} is hosting a webinar on site security today",
        "{brand} announced a new data center in Milan",
        "comparing {brand} and {other} for a client project",
        "{product} now ships with one-click staging",
    ],
    ("it", "food", "complaint"): [
        "i {product} di {brand} sono arrivati tutti sbriciolati",
        "trovato un pezzo di plastica nei {product}, schifo",
        "{brand} ha cambiato ricetta e ora sanno di cartone",
        "{handle} la confezione dice senza olio di palma ma non è vero",
        "prezzo dei {product} aumentato ancora, basta {brand}",
        "scaduti da una settimana i {product} comprati ieri",
    ],
    ("it", "food", "question"): [
        "{handle} i {product} sono senza glutine?",
        "dove trovo i {product} di {brand} a Torino?",
        "meglio i {product} o quelli di {other}?",
        "{brand} fa anche una versione senza zucchero?",
    ],
    ("it", "food", "praise"): [
        "colazione con i {product} di {brand}, buonissimi",
        "i {product} di {brand} sono i migliori, mai più altri",
        "{brand} ha la crostata come quella della nonna",
        "finalmente {product} con pochi ingredienti, brava {brand}",
    ],
    ("it", "food", "neutral"): [
        "al supermercato c'erano i {product} di {brand} in offerta",
        "{brand} apre un nuovo stabilimento in Emilia",
        "provo i {product} oggi, vediamo",
    ],
    ("en", "food", "complaint"): [
        "the {product} from {brand} arrived completely crushed",
        "found plastic in my {product}, disgusting",
        "{brand} changed the recipe and it tastes like cardboard",
        "{handle} your {product} expired a week before the date on the box",
    ],
    ("en", "food", "question"): [
        "{handle} are the {product} gluten free?",
        "where can I buy {brand} {product} in London?",
        "{product} or the ones from {other}?",
    ],
    ("en", "food", "praise"): [
        "breakfast with {brand} {product}, so good",
        "the {product} from {brand} are the best, never going back",
        "love the new {brand} recipe, tastes homemade",
    ],
    ("en", "food", "neutral"): [
        "{brand} {product} on offer at the supermarket today",
        "{brand} is opening a new bakery plant",
    ],
}

OPENERS = {
    "it": ["", "", "ragazzi ", "allora ", "ma ", "ok ", "ciao a tutti, ", "sinceramente ", "raga "],
    "en": ["", "", "ok so ", "honestly ", "hey, ", "well ", "so ", "guys "],
}
CLOSERS = {
    ("it", "complaint"): ["", "", " vergogna", " pessimo servizio", " mai più", " aiuto!!", " che delusione"],
    ("it", "question"): ["", "", " grazie", " grazie mille", " qualcuno mi aiuta?"],
    ("it", "praise"): ["", "", " top", " bravi", " consigliatissimo", " continuate così"],
    ("it", "neutral"): ["", "", " vediamo", " interessante", ""],
    ("en", "complaint"): ["", "", " unacceptable", " terrible service", " never again", " help!!"],
    ("en", "question"): ["", "", " thanks", " thanks in advance", " anyone?"],
    ("en", "praise"): ["", "", " top notch", " well done", " highly recommended"],
    ("en", "neutral"): ["", "", " we'll see", " interesting", ""],
}
EMOJI = {
    "complaint": ["", "", "", " 😡", " 🤬", " 😤😤", " 👎"],
    "question": ["", "", " 🤔", " 🙏"],
    "praise": ["", "", " 😍", " 👍", " ❤️", " 🔥🔥"],
    "neutral": ["", "", " 👀", ""],
}

CARE_REPLIES = {
    "it": [
        "ciao {customer}, ci dispiace per il disagio: ti abbiamo scritto in privato per risolvere",
        "{customer} grazie della segnalazione, i tecnici stanno già verificando",
        "ciao {customer}, il problema è stato risolto, puoi controllare?",
        "{customer} ti abbiamo risposto sul ticket, facci sapere",
    ],
    "en": [
        "hi {customer}, sorry about this, we sent you a direct message to sort it out",
        "{customer} thanks for reporting it, our team is on it",
        "hi {customer}, this is fixed now, could you check?",
        "{customer} we answered your ticket, let us know",
    ],
}

BRAND_POSTS = {
    "it": [
        "novità: {product} ora ancora più veloce, scopri di più",
        "promo di novembre su {product}, solo per questa settimana",
        "manutenzione programmata stanotte dalle 2 alle 4",
        "vi presentiamo {product}, fatto per voi",
    ],
    "en": [
        "news: {product} is now even faster, learn more",
        "November deal on {product}, this week only",
        "scheduled maintenance tonight from 2 to 4 am",
        "meet {product}, made for you",
    ],
}

# Syllables for author handles: every stream has thousands of distinct handles.
SYLLABLES = [
    "ma",
    "ri",
    "lu",
    "ca",
    "gio",
    "ste",
    "fa",
    "bio",
    "an",
    "na",
    "pa",
    "ola",
    "fe",
    "de",
    "ri",
    "co",
    "tom",
    "jen",
    "sam",
    "kel",
    "ly",
    "max",
    "ben",
    "zo",
    "ele",
    "ni",
    "vit",
    "to",
    "sa",
    "ra",
]

# Copy-paste campaigns (pipelines/generator/campaigns.py): one text that many new accounts post
# about a brand within minutes, with small edits. {adj} is the word a variant swaps.
CAMPAIGN_POSTS = {
    "it": [
        "ho provato {product} di {brand} questa settimana e non torno più indietro, qualità {adj} a questo prezzo",
        "chi non conosce ancora {brand} si perde qualcosa, {product} è {adj} e lo consiglio a tutta la famiglia",
    ],
    "en": [
        "tried {product} from {brand} this week and I am never going back, {adj} quality for the price",
        "if you do not know {brand} yet you are missing out, {product} is {adj} and my whole family loves it",
    ],
}
CAMPAIGN_ADJECTIVES = {
    "it": ["incredibile", "pazzesca", "eccezionale", "straordinaria"],
    "en": ["amazing", "incredible", "outstanding", "unreal"],
}
CAMPAIGN_EMOJI = ["😍", "🔥", "👏👏", "💯", "🙌"]
