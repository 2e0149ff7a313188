"""The API's field messages (a 422's `errors`) as the console's pages say them: in Portuguese.

Marshmallow's defaults, the kit's fields and each service's own texts, exactly as the API writes
them; a templated one (a bound, an id, a list of choices) by a pattern that keeps its values as
given. A text not found here is said as the API gave it: English is better than nothing."""

from __future__ import annotations

import re

EXACT: dict[str, str] = {
    # marshmallow: fields and schemas
    "Missing data for required field.": "Campo obrigatório.",
    "Field may not be null.": "Campo obrigatório.",
    "Invalid value.": "Valor inválido.",
    "Invalid input.": "Valor inválido.",
    "Invalid input type.": "Tipo de dado inválido.",
    "Invalid type.": "Tipo de dado inválido.",
    "Unknown field.": "Campo desconhecido.",
    "Not a valid string.": "Deve ser um texto.",
    "Not a valid utf-8 string.": "Texto com caracteres inválidos.",
    "Not a valid integer.": "Deve ser um número inteiro.",
    "Not a valid number.": "Deve ser um número.",
    "Number too large.": "Número grande demais.",
    "Special numeric values (nan or infinity) are not permitted.": "Deve ser um número finito.",
    "Not a valid boolean.": "Deve ser sim ou não.",
    "Not a valid date.": "Data inválida.",
    "Not a valid datetime.": "Data e hora inválidas.",
    "Not a valid time.": "Hora inválida.",
    "Not a valid aware datetime.": "Data e hora inválidas: informe o fuso horário.",
    "Not a valid naive datetime.": "Data e hora inválidas: sem fuso horário.",
    "Not a valid aware date.": "Data inválida.",
    "Not a valid naive date.": "Data inválida.",
    "Not a valid aware time.": "Hora inválida: informe o fuso horário.",
    "Not a valid naive time.": "Hora inválida: sem fuso horário.",
    "Not a valid period of time.": "Período de tempo inválido.",
    "Not a valid list.": "Deve ser uma lista.",
    "Not a valid tuple.": "Deve ser uma lista.",
    "Not a valid delimited list.": "Deve ser uma lista separada por vírgulas.",
    "Not a valid mapping type.": "Deve ser um objeto (chaves e valores).",
    "Not a valid email address.": "E-mail inválido.",
    "Not a valid URL.": "Endereço (URL) inválido.",
    "Not a valid UUID.": "Identificador inválido.",
    "Not a valid IP address.": "Endereço IP inválido.",
    "Not a valid IPv4 address.": "Endereço IPv4 inválido.",
    "Not a valid IPv6 address.": "Endereço IPv6 inválido.",
    "String does not match expected pattern.": "Formato inválido.",
    # the kit
    "Must not be blank.": "Não pode ficar em branco.",
    "Must not contain control characters (tabs and line breaks too).": (
        "Não pode ter caracteres de controle (nem tabulação ou quebra de linha)."
    ),
    "Contains a NUL character or an unpaired surrogate, which cannot be stored.": (
        "Contém um caractere que não pode ser gravado."
    ),
    "A comma-separated list of ids.": "Deve ser uma lista de ids separados por vírgula.",
    "Not a valid amount.": "Valor em dinheiro inválido.",
    "At most two decimal places.": "No máximo duas casas decimais.",
    "Give at least one field to change.": "Altere pelo menos um campo.",
    "A value, or what it adds up to, is larger than can be stored.": (
        "Um valor, ou a soma deles, é grande demais para ser gravado."
    ),
    "already taken": "Já está em uso.",
    # auth
    "Must be 8 to 256 characters long.": "Deve ter de 8 a 256 caracteres.",
    "Give a name or a password to change.": "Informe um nome ou uma senha para alterar.",
    "Give a role or active to change.": "Escolha um papel ou se a conta fica ativa.",
    "Does not match the current password.": "Não confere com a senha atual.",
    # clients
    "Must be 11 digits, as 000.000.000-00 or 00000000000.": (
        "Deve ter 11 dígitos, como 000.000.000-00 ou 00000000000."
    ),
    "A CPF of one repeated digit is not valid.": "CPF com todos os dígitos iguais não é válido.",
    "The check digits do not match.": "Os dígitos verificadores não conferem.",
    "Must be 8 digits, as 00000-000 or 00000000.": (
        "Deve ter 8 dígitos, como 00000-000 ou 00000000."
    ),
    "Must be a Brazilian mobile number with its area code, as (11) 91234-5678, "
    "11912345678 or +5511912345678.": (
        "Deve ser um celular brasileiro com DDD, como (11) 91234-5678, 11912345678 ou "
        "+5511912345678."
    ),
    "The client has open orders.": "O cliente tem pedidos em aberto.",
    # products
    "An EAN-13 is 13 digits.": "Um EAN-13 tem 13 dígitos.",
    "The check digit does not match.": "O dígito verificador não confere.",
    "A comma-separated list of product ids.": (
        "Deve ser uma lista de ids de produtos separados por vírgula."
    ),
    "Must be a JSON array of products.": "Deve ser uma lista JSON de produtos.",
    "Must not be below min_price.": "Não pode ser menor que o preço mínimo.",
    "No such category.": "Categoria não encontrada.",
    "Not a JPEG, PNG or WebP picture.": "A imagem deve ser JPEG, PNG ou WebP.",
    # collector
    "An absolute http or https URL.": (
        "Deve ser um endereço completo, começando com http:// ou https://."
    ),
    "A URL without credentials.": "O endereço não pode conter usuário nem senha.",
    "A five-field cron expression (minute hour day month weekday).": (
        "Deve ser uma expressão cron de cinco campos (minuto hora dia mês dia-da-semana)."
    ),
    "Not a valid CSS selector or XPath expression.": "Seletor CSS ou expressão XPath inválidos.",
    "Each start URL once.": "Cada endereço inicial só pode aparecer uma vez.",
    # orders
    "Give items, shipping_address_id or payment_method.": (
        "Informe os itens, o endereço de entrega ou a forma de pagamento."
    ),
    "Must not be before created_from.": "Não pode ser antes do início do período.",
    "Must not be before from.": "Não pode ser antes do início do período.",
    "Must be before 9999-12-31.": "Deve ser antes de 9999-12-31.",
    # inventory
    "Must not be 0.": "Não pode ser 0.",
    # payments
    "A card number is never accepted: give the provider's payment-method id (pm_…), "
    "made by its card form.": (
        "Número de cartão nunca é aceito: informe o id da forma de pagamento do provedor "
        "(pm_…), criado pelo formulário de cartão dele."
    ),
    "A provider payment-method id: pm_ and letters, digits or _.": (
        "Deve ser um id de forma de pagamento do provedor: pm_ seguido de letras, dígitos ou _."
    ),
    "A card payment needs a payment method id.": (
        "Pagamento com cartão precisa do id da forma de pagamento."
    ),
    "The payment provider does not know this method.": (
        "O provedor de pagamento não conhece esta forma de pagamento."
    ),
}

# A number as the API writes one: an id, a bound, an amount ("-1000000000", "9999999999.99").
_N = r"-?\d+(?:\.\d+)?"

# Each matches the whole text; its named groups go into the Portuguese as they came.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern.replace("{N}", _N)), portuguese)
    for pattern, portuguese in (
        # marshmallow: Length (texts and lists alike)
        (
            r"Length must be between (?P<min>{N}) and (?P<max>{N})\.",
            "O tamanho deve ser de {min} a {max}.",
        ),
        (r"Shorter than minimum length (?P<min>{N})\.", "O tamanho mínimo é {min}."),
        (r"Longer than maximum length (?P<max>{N})\.", "O tamanho máximo é {max}."),
        (r"Length must be (?P<n>{N})\.", "O tamanho deve ser {n}."),
        # marshmallow: Range, each bound inclusive or not
        (
            r"Must be greater than or equal to (?P<min>{N})"
            r" and less than or equal to (?P<max>{N})\.",
            "Deve ser de {min} a {max}.",
        ),
        (
            r"Must be greater than or equal to (?P<min>{N}) and less than (?P<max>{N})\.",
            "Deve ser maior ou igual a {min} e menor que {max}.",
        ),
        (
            r"Must be greater than (?P<min>{N}) and less than or equal to (?P<max>{N})\.",
            "Deve ser maior que {min} e menor ou igual a {max}.",
        ),
        (
            r"Must be greater than (?P<min>{N}) and less than (?P<max>{N})\.",
            "Deve ser maior que {min} e menor que {max}.",
        ),
        (r"Must be greater than or equal to (?P<n>{N})\.", "Deve ser maior ou igual a {n}."),
        (r"Must be greater than (?P<n>{N})\.", "Deve ser maior que {n}."),
        (r"Must be less than or equal to (?P<n>{N})\.", "Deve ser menor ou igual a {n}."),
        (r"Must be less than (?P<n>{N})\.", "Deve ser menor que {n}."),
        # marshmallow: OneOf, Equal, ContainsOnly
        (r"Must be one of: (?P<choices>.+)\.", "Deve ser um destes: {choices}."),
        (r"Must be equal to (?P<other>.+)\.", "Deve ser igual a {other}."),
        (
            r"One or more of the choices you made was not in: (?P<choices>.+)\.",
            "Alguma escolha não está entre: {choices}.",
        ),
        # the kit
        (r"Longer than (?P<n>{N}) characters\.", "Deve ter no máximo {n} caracteres."),
        (r"At most (?P<n>{N}) ids\.", "No máximo {n} ids."),
        (r"Must be at most (?P<n>{N})\.", "Deve ser no máximo {n}."),
        (r"Must be at least (?P<n>{N})\.", "Deve ser pelo menos {n}."),
        (
            r"Between (?P<min>{N}) and (?P<max>{N}) characters\.",
            "Deve ter de {min} a {max} caracteres.",
        ),
        # collector
        (
            r"Must be between (?P<min>{N}) and (?P<max>{N}) seconds\.",
            "Deve ser de {min} a {max} segundos.",
        ),
        # products
        (r"At most (?P<n>{N}) rows per import\.", "No máximo {n} linhas por importação."),
        (r"At most (?P<n>{N}) pixels\.", "No máximo {n} pixels."),
        # orders, inventory and payments
        (r"Client (?P<id>{N}) does not exist\.", "O cliente {id} não existe."),
        (
            r"Client (?P<client>{N}) has no address (?P<address>{N})\.",
            "O cliente {client} não tem o endereço {address}.",
        ),
        (r"Product (?P<id>{N}) does not exist\.", "O produto {id} não existe."),
        (r"Product (?P<id>{N}) is not active\.", "O produto {id} não está ativo."),
        (r"Order (?P<id>{N}) does not exist\.", "O pedido {id} não existe."),
        (
            r"Product (?P<id>{N}): (?P<requested>{N}) requested, (?P<available>{N}) available",
            "Produto {id}: {requested} pedidos, {available} disponíveis",
        ),
        (
            r"Not enough stock for products (?P<ids>.+)",
            "Estoque insuficiente para os produtos {ids}",
        ),
        (
            r"Must be (?P<n>{N}) days after 0001-01-01\.",
            "Deve ser pelo menos {n} dias depois de 0001-01-01.",
        ),
        (r"The period is at most (?P<n>{N}) days\.", "O período é de no máximo {n} dias."),
        (
            r"At most (?P<amount>{N}) is left to refund\.",
            "Restam no máximo {amount} para estornar.",
        ),
    )
]


def in_portuguese(text: str) -> str:
    """`text` as the console says it; the API's own words when it is not known here."""
    known = EXACT.get(text)
    if known is not None:
        return known
    for pattern, portuguese in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return portuguese.format(**found.groupdict())
    return text
