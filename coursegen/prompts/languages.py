"""Map ISO 639-1 language codes to the names used inside prompts."""

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "az": "Azerbaijani",
    "be": "Belarusian",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "hy": "Armenian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ka": "Georgian",
    "kk": "Kazakh",
    "ko": "Korean",
    "ky": "Kyrgyz",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mn": "Mongolian",
    "ms": "Malay",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sr": "Serbian",
    "sv": "Swedish",
    "ta": "Tamil",
    "tg": "Tajik",
    "th": "Thai",
    "tr": "Turkish",
    "tt": "Tatar",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "vi": "Vietnamese",
    "zh": "Chinese",
}

# Russian names, so that the Russian prompt can name the target language naturally.
LANGUAGE_NAMES_RU: dict[str, str] = {
    "ru": "русском",
    "en": "английском",
    "uk": "украинском",
    "be": "белорусском",
    "kk": "казахском",
    "de": "немецком",
    "fr": "французском",
    "es": "испанском",
}


def language_name(code: str) -> str:
    """Return the English name of a language code (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)


def prompt_language(code: str) -> str:
    """Pick the template language for a course language: Russian or English."""
    return "ru" if code == "ru" else "en"
