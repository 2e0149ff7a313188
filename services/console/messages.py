"""The API's words as the console's pages say them: in Portuguese. A 422's field messages
(`errors`) and a problem's `detail` (or its `title`), from the services, the kit and the gateway;
and the notes services write themselves in an order's history and a stock ledger.

Marshmallow's defaults, the kit's texts and each service's own, exactly as the API writes them; a
templated one (a bound, an id, a status, a list of choices) by a pattern that keeps its values as
given, a status or a service said by its name here. A text not found here is said as the API gave
it: English is better than nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

EXACT: dict[str, str] = {
    # marshmallow: fields and schemas
    "Missing data for required field.": "Campo obrigatório.",
    "Field may not be null.": "Campo obrigatório.",
    "Invalid value.": "Valor inválido.",
    "Invalid input.": "Valor inválido.",
    "Invalid input type.": "Tipo de dado inválido.",
    "Invalid type.": "Tipo de dado inválido.",
    "Unknown field.": "Campo desconhecido.",
    # the kit's query arguments (services/kit/pagination.py: GIVEN_TWICE, GIVEN_TWICE_LIST)
    "Given more than once.": "Informado mais de uma vez.",
    "Given more than once: list several values in one, separated by commas.": (
        "Informado mais de uma vez: para vários valores, separe-os por vírgulas num só."
    ),
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
    "Not a time zone name of the IANA database, such as America/Sao_Paulo or UTC.": (
        "Não é um fuso horário da base IANA, como America/Sao_Paulo ou UTC."
    ),
    "Must not contain control characters (tabs and line breaks too).": (
        "Não pode ter caracteres de controle (nem tabulação ou quebra de linha)."
    ),
    "Contains a NUL character or an unpaired surrogate, which cannot be stored.": (
        "Contém um caractere que não pode ser gravado."
    ),
    "A comma-separated list of ids.": "Deve ser uma lista de ids separados por vírgula.",
    "Not a valid amount.": "Valor em dinheiro inválido.",
    "Not a valid amount: digits with a point, as in 30.25.": (
        "Valor em dinheiro inválido: escreva só algarismos e os centavos, como em 30,25."
    ),
    "At most two decimal places.": "No máximo duas casas decimais.",
    "Events undelivered": "Eventos não entregues",
    "A run has been queued": "Uma coleta está na fila",
    "A queued message has been due": "Uma mensagem na fila espera envio",
    "Must hold a word to find.": "Informe ao menos uma palavra a buscar.",
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
    "Open orders ship to this address.": "Há pedidos em aberto a entregar neste endereço.",
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
    # collector: a run's error, and the reasons of the pages it could not fetch
    "no page could be fetched": "Nenhuma página pôde ser obtida",
    "1 page or product rejected": "1 página ou produto recusado",
    "the worker stopped during the run": "O coletor parou durante a coleta",
    "timed out": "tempo esgotado",
    "disallowed by robots.txt": "proibida pelo robots.txt",
    "the site's robots.txt could not be read": "o robots.txt do site não pôde ser lido",
    "an invalid URL": "endereço inválido",
    "a URL without a host": "endereço sem domínio",
    "a URL with credentials in it": "endereço com usuário ou senha",
    "a URL with an invalid port": "endereço com porta inválida",
    # orders
    "Give items, shipping_address_id or payment_method.": (
        "Informe os itens, o endereço de entrega ou a forma de pagamento."
    ),
    "Printable characters only: no invisible, format or private-use characters, and no space "
    "but the plain one.": (
        "Só caracteres visíveis: sem caracteres invisíveis, de formatação ou de uso privado, e "
        "sem outro espaço que o comum."
    ),
    "Must not be before created_from.": "Não pode ser antes do início do período.",
    "Must not be before from.": "Não pode ser antes do início do período.",
    "Must be before 9999-12-31.": "Deve ser antes de 9999-12-31.",
    # payments: a failure the provider gave no words for
    "The payment failed": "O pagamento falhou.",
    "Must be a day the time zone can reach.": "Deve ser um dia que o fuso horário alcança.",
    "The database does not know this time zone.": "O banco de dados não conhece este fuso horário.",
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
    # ---- problems' details (and titles): the kit's ----
    "Bad Request": "Requisição recusada.",
    "Unauthorized": "Acesso não autorizado.",
    "Forbidden": "Acesso negado.",
    "Not Found": "Não encontrado.",
    "Method Not Allowed": "Método não permitido.",
    "Conflict": "Conflito com os dados atuais.",
    "Precondition Failed": "A condição do pedido não vale mais.",
    "The resource changed since If-Match's ETag: read it again": (
        "O registro mudou desde que foi lido (If-Match): leia-o de novo."
    ),
    "Payload Too Large": "Envio grande demais.",
    "Unprocessable Content": "Dados inválidos.",
    "Too Many Requests": "Muitas requisições.",
    "Internal Server Error": "Erro interno.",
    "Service Unavailable": "Serviço indisponível.",
    "Content-Type must be multipart/form-data": "O envio deve ser multipart/form-data.",
    "Content-Type must be application/json": "O envio deve ser application/json.",
    "The request needs a JSON body": "A requisição precisa de um corpo JSON.",
    "The JSON body holds a number too long to read": (
        "O corpo JSON tem um número longo demais para ser lido."
    ),
    "The request body is not valid JSON": "O corpo da requisição não é um JSON válido.",
    "The request body is larger than this endpoint accepts": (
        "O corpo da requisição é maior do que este endereço aceita."
    ),
    "The change conflicts with stored data": "A alteração conflita com os dados gravados.",
    "It was deleted while this request was being carried out": (
        "Foi excluído enquanto esta requisição era atendida."
    ),
    "A value is out of range": "Um valor está fora do limite.",
    "The database is unavailable": "O banco de dados está indisponível.",
    "An unexpected error occurred; quote the request_id when reporting it": (
        "Ocorreu um erro inesperado; informe o código do pedido ao relatá-lo."
    ),
    "This Idempotency-Key was used with another body": (
        "Esta Idempotency-Key já foi usada com outro conteúdo."
    ),
    "This Idempotency-Key was used with another body or path": (
        "Esta Idempotency-Key já foi usada com outro conteúdo ou em outro endereço."
    ),
    "An access token is required": "É preciso um token de acesso.",
    "A bearer token is required": "É preciso um token de acesso.",
    "The bearer token is invalid": "O token de acesso é inválido.",
    "The bearer token has expired": "O token de acesso expirou.",
    "The bearer token has been revoked": "O token de acesso foi revogado.",
    "The bearer token's user no longer exists": "O usuário do token de acesso não existe mais.",
    "The bearer token is missing required claims": (
        "O token de acesso não tem as informações obrigatórias."
    ),
    "The bearer token carries an unknown role": "O token de acesso traz um papel desconhecido.",
    "This route is for other Feira services: a service credential is needed": (
        "Esta rota é para outros serviços da Feira: é preciso uma credencial de serviço."
    ),
    "The service credential does not match its caller's key": (
        "A credencial de serviço não confere com a chave de quem a envia."
    ),
    "The service credential is too old, or dated ahead of this service's clock": (
        "A credencial de serviço é antiga demais ou está datada à frente do relógio deste serviço."
    ),
    "This route does not answer that service": "Esta rota não atende a esse serviço.",
    "The event signature does not match": "A assinatura do evento não confere.",
    "The event is not a Feira event": "O evento não é um evento da Feira.",
    "An event of this body is being taken by another delivery; try again later": (
        "Um evento deste corpo está sendo tratado por outra entrega; tente de novo mais tarde."
    ),
    # the gateway's own
    "The request could not be parsed": "A requisição não pôde ser lida.",
    "A valid bearer token is required": "É preciso um token de acesso válido.",
    "The token does not allow this": "O token não permite isto.",
    "The request body is too large": "O corpo da requisição é grande demais.",
    "The request line (the URL) is too long": "A linha da requisição (o endereço) é longa demais.",
    "Too many requests; slow down": "Muitas requisições; diminua o ritmo.",
    "A request header, or all of them together, is too large": (
        "Um cabeçalho da requisição, ou todos juntos, é grande demais."
    ),
    "The gateway failed": "O gateway falhou.",
    "The gateway does not read this Transfer-Encoding": (
        "O gateway não lê este Transfer-Encoding."
    ),
    "The service is unavailable; try again shortly": (
        "O serviço está indisponível; tente de novo em instantes."
    ),
    "The upstream service did not answer in time": "O serviço não respondeu a tempo.",
    "Use HTTP/1.1": "Use o HTTP/1.1.",
    "URI Too Long": "Endereço longo demais.",
    "Request Header Fields Too Large": "Cabeçalhos grandes demais.",
    "Not Implemented": "Não implementado.",
    "Gateway Timeout": "O serviço demorou demais para responder.",
    "HTTP Version Not Supported": "Versão de HTTP não suportada.",
    # auth
    "Too many registrations from this address; try again later": (
        "Muitos cadastros a partir deste endereço; tente de novo mais tarde."
    ),
    "Too many failed logins from this address; try again later": (
        "Muitas tentativas de entrar falharam a partir deste endereço; tente de novo mais tarde."
    ),
    "Too many failed logins for this account; try again later": (
        "Muitas tentativas de entrar falharam nesta conta; tente de novo mais tarde."
    ),
    "Must not be the e-mail address, nor its part before the @.": (
        "Não pode ser o e-mail, nem a parte dele antes do @."
    ),
    "Too easy to guess: a common password, close to one, or made of the e-mail or name. "
    "Use a longer phrase.": (
        "Fácil demais de adivinhar: uma senha comum, parecida com uma, ou feita do e-mail ou do "
        "nome. Use uma frase mais longa."
    ),
    "Too many wrong current passwords in this session; try again later": (
        "Muitas senhas atuais erradas nesta sessão; tente de novo mais tarde."
    ),
    "The email or password is wrong": "E-mail ou senha incorretos.",
    "A refresh token is required": "É preciso um token de renovação.",
    "The refresh token is invalid or expired": "O token de renovação é inválido ou expirou.",
    "The refresh token was already used; the session has been revoked": (
        "O token de renovação já foi usado; a sessão foi encerrada."
    ),
    "The account is deactivated": "A conta está desativada.",
    "The last active admin cannot delete itself": (
        "O último administrador ativo não pode excluir a própria conta."
    ),
    "The last active admin cannot be demoted or deactivated": (
        "O último administrador ativo não pode deixar de ser administrador nem ser desativado."
    ),
    # orders
    "Only an admin may move an order to this status": (
        "Só um administrador pode levar um pedido a este status."
    ),
    "Only the user who placed the order, or an admin, may cancel it": (
        "Só quem fez o pedido, ou um administrador, pode cancelá-lo."
    ),
    "Only the user who placed the order, or an admin, may change it": (
        "Só quem fez o pedido, ou um administrador, pode alterá-lo."
    ),
    "Only an admin may cancel a paid order": "Só um administrador pode cancelar um pedido pago.",
    "Only an admin may find clients by phone": (
        "Só um administrador pode buscar clientes pelo telefone."
    ),
    "The order took too long to place; nothing was kept": (
        "O pedido demorou demais para ser registrado; nada foi gravado."
    ),
    # what orders asked inventory to do, in its refusals ("… could not {action}")
    "place the order": "registrar o pedido",
    "change the order": "alterar o pedido",
    "reserve the stock": "reservar o estoque",
    "the reservation is no longer reserved": "a reserva não está mais de pé",
    # what a service could not say ("The {service} service could not {action}")
    "verify the token": "verificar o token",
    "say whether the client exists": "dizer se o cliente existe",
    "say whether the address exists": "dizer se o endereço existe",
    "say whether the product exists": "dizer se o produto existe",
    "say whether the product may go": "dizer se o produto pode ser excluído",
    "say whether the client has open orders": "dizer se o cliente tem pedidos em aberto",
    "say whether open orders ship to the address": (
        "dizer se há pedidos em aberto a entregar no endereço"
    ),
    "list the order's products": "listar os produtos do pedido",
    "list the favorite products": "listar os produtos favoritos",
    "give the contact": "informar o contato",
    "show the order": "mostrar o pedido",
    "The products service answered a product orders cannot read": (
        "O serviço de produtos respondeu com um produto que o serviço de pedidos não consegue ler."
    ),
    # notifications
    "The verify token does not match": "O token de verificação não confere.",
    "hub.challenge is missing or too long": "O hub.challenge falta ou é longo demais.",
    "The X-Hub-Signature-256 signature does not match": (
        "A assinatura X-Hub-Signature-256 não confere."
    ),
    "The body is not JSON": "O corpo não é JSON.",
    "The body is not a JSON object": "O corpo não é um objeto JSON.",
    "The mail server cannot take the collector alert now": (
        "O servidor de e-mail não pode receber o alerta do coletor agora."
    ),
    "The notifications service is not configured": (
        "O serviço de notificações não está configurado."
    ),
    # payments
    "The payment provider is not configured": "O provedor de pagamento não está configurado.",
    "The payment provider cannot be reached": (
        "Não foi possível falar com o provedor de pagamento."
    ),
    "The payment provider refused Feira's credentials": (
        "O provedor de pagamento recusou as credenciais da Feira."
    ),
    "The payment provider is still handling this request": (
        "O provedor de pagamento ainda está tratando este pedido de pagamento."
    ),
    "The payment provider refused the payment": "O provedor de pagamento recusou o pagamento.",
    "Only an admin may filter by needs_review": (
        "Só um administrador pode filtrar por needs_review."
    ),
    # why payments let go of a payment (a review_reason's first part, when its refund was refused)
    "Its order was cancelled": "O pedido foi cancelado",
    "Its order's total changed": "O total do pedido mudou",
    "Its order was paid another way": "O pedido foi pago de outra forma",
    "It succeeded after it had failed, while another payment of its order was open": (
        "Foi aprovado depois de ter falhado, enquanto outro pagamento do pedido estava em aberto"
    ),
}

# marshmallow's OneOf: the API lists its codes ("receipt, adjustment"), a select says the names it
# offers (`offered`).
ONE_OF = "Deve ser um destes: {choices}."
_ONE_OF = re.compile(re.escape(ONE_OF).replace(re.escape("{choices}"), ".+"))


def brl(value: Any) -> str:
    """R$ 1.234,56 from the API's decimal string."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "—"
    return f"R$ {_brazilian(f'{amount:,.2f}')}"


def number(value: Any) -> str:
    """A count or a bound as Brazilians write it: 1.000.000, 9.999.999.999,99 (the places it
    came with); what is not a number, as it came."""
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not exact.is_finite():
        return str(value)
    _, _, places = str(value).partition(".")
    return _brazilian(f"{exact:,.{len(places)}f}")


def _brazilian(written: str) -> str:
    """1,234.56 written the Brazilian way: 1.234,56."""
    return written.replace(",", "X").replace(".", ",").replace("X", ".")


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
        (r"Must be one of: (?P<choices>.+)\.", ONE_OF),
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
        (
            r"(?P<reason>.+); the collector does not fetch it\.",
            "{reason}; o coletor não busca esse endereço.",
        ),
        # health routes (an SRE's, read by monitoring; named things kept as given)
        (r"(?P<n>{N}) failing: (?P<names>.+)", "{n} com falha: {names}"),
        (
            r"(?P<reason>.+) longer than (?P<n>{N}) s: (?P<names>.+)",
            "{reason} há mais de {n} s: {names}",
        ),
        # products
        (r"At most (?P<n>{N}) rows per import\.", "No máximo {n} linhas por importação."),
        (r"At most (?P<n>{N}) pixels\.", "No máximo {n} pixels."),
        # orders, inventory and payments
        # (a field's message ends in a period, a problem's detail does not: kept as given)
        (r"Client (?P<id>{N}) does not exist(?P<end>\.?)", "O cliente {id} não existe{end}"),
        (
            r"Client (?P<client>{N}) has no address (?P<address>{N})(?P<end>\.?)",
            "O cliente {client} não tem o endereço {address}{end}",
        ),
        (r"Product (?P<id>{N}) does not exist(?P<end>\.?)", "O produto {id} não existe{end}"),
        (r"Product (?P<id>{N}) is not active\.", "O produto {id} não está ativo."),
        (
            r"The lines of product (?P<id>{N}) add up to (?P<n>{N}): at most (?P<max>{N}) of a "
            r"product\.",
            "As linhas do produto {id} somam {n}: no máximo {max} de um produto.",
        ),
        (
            r"The order's total would be over (?P<max>{N})\.",
            "O total do pedido passaria de {max}.",
        ),
        (r"Order (?P<id>{N}) does not exist(?P<end>\.?)", "O pedido {id} não existe{end}"),
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
        # ---- problems' details: the kit's ----
        (r"Invalid fields: (?P<fields>.+)", "Campos inválidos: {fields}"),
        (r"No route for (?P<path>\S+)", "Nenhuma rota para {path}"),
        (r"(?P<method>\S+) is not allowed on (?P<path>\S+)", "{method} não é permitido em {path}"),
        (r"(?P<method>\S+) is not allowed here", "{method} não é permitido aqui"),
        (r"(?P<field>\S+) is already taken", "{field} já está em uso"),
        (
            r"(?P<field>\S+) is still referenced or does not exist",
            "{field} ainda é referenciado ou não existe",
        ),
        (r"The change breaks the rule (?P<rule>\S+)", "A alteração viola a regra {rule}"),
        (r"The JSON body (?P<reason>.+)", "O corpo JSON {reason}"),
        (r"The body (?P<reason>.+)", "O corpo {reason}"),
        (r"nests deeper than (?P<n>{N}) levels", "tem mais de {n} níveis de aninhamento"),
        (r"This action needs the role: (?P<roles>.+)", "Esta ação exige o papel: {roles}"),
        (
            r"The (?P<service>\w+) service is unavailable",
            "O serviço de {service} está indisponível.",
        ),
        (
            r"The (?P<service>\w+) service answered something unreadable",
            "O serviço de {service} deu uma resposta ilegível.",
        ),
        (
            r"The (?P<service>\w+) service answered (?P<code>{N})",
            "O serviço de {service} respondeu {code}.",
        ),
        (
            r"The (?P<service>\w+) service could not (?P<action>.+)",
            "O serviço de {service} não conseguiu {action}.",
        ),
        # auth
        (r"User (?P<id>{N}) does not exist", "O usuário {id} não existe"),
        # collector
        (r"Source (?P<id>{N}) does not exist", "A fonte {id} não existe"),
        (r"Source (?P<id>{N}) is not active", "A fonte {id} não está ativa"),
        (
            r"Source (?P<id>{N}) has a run queued or running; wait for it to end",
            "A fonte {id} tem uma coleta na fila ou em andamento; espere que ela termine",
        ),
        (
            r"Source (?P<id>{N}) already has a run queued or running",
            "A fonte {id} já tem uma coleta na fila ou em andamento",
        ),
        (r"Run (?P<id>{N}) does not exist", "A coleta {id} não existe"),
        (
            r"Run (?P<id>{N}) is (?P<run_status>\w+): only a queued or running run can be stopped",
            "A coleta {id} está {run_status}: só uma coleta na fila ou em andamento pode ser "
            "parada",
        ),
        (
            r"cancelled by user (?P<id>{N}) before it started",
            "Cancelada pelo usuário {id} antes de começar",
        ),
        (r"stopped by user (?P<id>{N})", "Parada pelo usuário {id}"),
        (
            r"(?P<n>{N}) pages or products rejected",
            "{n} páginas ou produtos recusados",
        ),
        (
            r"no page could be fetched: (?P<reason>.+) \((?P<url>\S+)\)",
            "Nenhuma página pôde ser obtida: {reason} ({url})",
        ),
        (r"the collector broke: (?P<what>.+)", "O coletor falhou: {what}"),
        (r"HTTP (?P<code>\d{3})", "resposta HTTP {code}"),
        (r"refused: (?P<reason>.+)", "recusada: {reason}"),
        (r"no answer \((?P<kind>\w+)\)", "sem resposta ({kind})"),
        (r"no whole answer within (?P<n>{N}) s", "resposta incompleta em {n} s"),
        (r"larger than (?P<n>{N}) bytes", "maior que {n} bytes"),
        (r"more than (?P<n>{N}) redirects", "mais de {n} redirecionamentos"),
        (r"the host (?P<host>\S+) does not resolve", "o domínio {host} não foi encontrado"),
        (
            r"a redirect to an invalid URL \((?P<location>.*)\)",
            "redirecionamento para um endereço inválido ({location})",
        ),
        (
            r"(?P<host>\S+(?: \([^)]+\))?) is a private, loopback, link-local or reserved "
            r"address \(not in COLLECTOR_ALLOWED_PRIVATE_HOSTS\)",
            "{host} é um endereço privado, de loopback, link-local ou reservado (fora de "
            "COLLECTOR_ALLOWED_PRIVATE_HOSTS)",
        ),
        # orders
        (
            r"An order that is (?P<order_status>\w+) cannot become (?P<target>\w+)",
            "Um pedido {order_status} não pode passar a {target}",
        ),
        (
            r'Order (?P<id>{N}) already has the external reference "(?P<ref>.+)"',
            'O pedido {id} já tem a referência externa "{ref}"',
        ),
        (
            r'An order with the external reference "(?P<ref>.+)" is being placed: ask again in '
            r"a moment; nothing was kept",
            'Um pedido com a referência externa "{ref}" está sendo feito: tente de novo em '
            "instantes; nada foi guardado",
        ),
        (
            r"Order (?P<id>{N}) is (?P<order_status>\w+): only a pending order can change",
            "O pedido {id} está {order_status}: só um pedido pendente pode mudar",
        ),
        (
            r"Order (?P<id>{N}) is (?P<order_status>\w+): only pending or cancelled orders go",
            "O pedido {id} está {order_status}: só pedidos pendentes ou cancelados podem ser "
            "excluídos",
        ),
        (
            r"Order (?P<id>{N})'s payment was refunded in full: cancel it, it cannot ship",
            "O pagamento do pedido {id} foi reembolsado por inteiro: cancele-o, ele não pode "
            "ser enviado",
        ),
        (
            r"Inventory holds no reservation for order (?P<id>{N}); cannot (?P<action>.+)",
            "O estoque não tem reserva para o pedido {id}; não foi possível {action}",
        ),
        (
            r"Inventory refused to (?P<action>.+?): (?P<reason>.+)",
            "O estoque se recusou a {action}: {reason}",
        ),
        (
            r"Not enough stock to (?P<action>.+?): products (?P<ids>.+)",
            "Estoque insuficiente para {action}: produtos {ids}",
        ),
        (r"release order (?P<id>{N})'s stock", "liberar o estoque do pedido {id}"),
        (r"commit order (?P<id>{N})'s stock", "dar baixa no estoque do pedido {id}"),
        # inventory
        (r"Order (?P<id>{N}) has no reservation", "O pedido {id} não tem reserva"),
        (
            r"Order (?P<id>{N})'s reservation is already (?P<reservation_status>\w+)",
            "A reserva do pedido {id} já está {reservation_status}",
        ),
        (
            r"Product (?P<id>{N}) has no stock in inventory",
            "O produto {id} não tem estoque registrado",
        ),
        (
            r"Product (?P<id>{N}) is unknown to inventory",
            "O produto {id} não é conhecido pelo estoque",
        ),
        (
            r"Product (?P<id>{N}) has no movement (?P<movement>{N})",
            "O produto {id} não tem a movimentação {movement}",
        ),
        (
            r"The movement would leave (?P<after>{N}) on hand for product (?P<id>{N}), "
            r"below the (?P<reserved>{N}) reserved",
            "A movimentação deixaria {after} em estoque no produto {id}, abaixo dos {reserved} "
            "reservados",
        ),
        (r"Holding (?P<id>{N}) does not exist", "A aquisição {id} não existe"),
        # clients
        (
            r"Client (?P<id>{N}) has (?P<n>{N}) open \(pending, paid or shipped\) order",
            "O cliente {id} tem {n} pedido em aberto (pendente, pago ou enviado)",
        ),
        (
            r"Client (?P<id>{N}) has (?P<n>{N}) open \(pending, paid or shipped\) orders",
            "O cliente {id} tem {n} pedidos em aberto (pendentes, pagos ou enviados)",
        ),
        (
            r"Address (?P<id>{N}) is the shipping address of (?P<n>{N}) open "
            r"\(pending, paid or shipped\) order",
            "O endereço {id} é o endereço de entrega de {n} pedido em aberto (pendente, pago ou "
            "enviado)",
        ),
        (
            r"Address (?P<id>{N}) is the shipping address of (?P<n>{N}) open "
            r"\(pending, paid or shipped\) orders",
            "O endereço {id} é o endereço de entrega de {n} pedidos em aberto (pendentes, pagos "
            "ou enviados)",
        ),
        (
            r"Product (?P<id>{N}) is not a favorite of client (?P<client>{N})",
            "O produto {id} não é favorito do cliente {client}",
        ),
        # products
        (r"Category (?P<id>{N}) does not exist", "A categoria {id} não existe"),
        (
            r"Category (?P<id>{N}) still has products; move or delete them first",
            "A categoria {id} ainda tem produtos; mova-os ou exclua-os antes",
        ),
        (
            r"Product (?P<id>{N}) cannot be deleted: (?P<reasons>.+)",
            "O produto {id} não pode ser excluído: {reasons}",
        ),
        (r"(?P<n>{N}) units are on hand in inventory", "há {n} unidades em estoque"),
        (r"(?P<n>{N}) orders reference it", "há {n} pedidos com ele"),
        (
            r"Product (?P<id>{N}) has no image (?P<image>{N})",
            "O produto {id} não tem a imagem {image}",
        ),
        (
            r"Product (?P<id>{N}) holds (?P<n>{N}) pictures, the most it may: remove one first",
            "O produto {id} já tem {n} imagens, o máximo permitido: remova uma antes",
        ),
        # notifications
        (r"Notification (?P<id>{N}) does not exist", "A notificação {id} não existe"),
        (
            r"Notification (?P<id>{N}) is (?P<notification_status>\w+): "
            r"only a failed one is sent again",
            "A notificação {id} está {notification_status}: só uma que falhou pode ser reenviada",
        ),
        (
            r"Notification (?P<id>{N}) will not be sent: the order was (?P<order_status>\w+)",
            "A notificação {id} não será enviada: o pedido está {order_status}",
        ),
        # payments
        (r"Payment (?P<id>{N}) does not exist", "O pagamento {id} não existe"),
        (
            r"Order (?P<id>{N}) is (?P<order_status>\w+): only a pending order can be paid",
            "O pedido {id} está {order_status}: só um pedido pendente pode ser pago",
        ),
        (r"Order (?P<id>{N}) has nothing to pay", "O pedido {id} não tem nada a pagar"),
        (
            r"Order (?P<id>{N}) already has an open payment",
            "O pedido {id} já tem um pagamento em aberto",
        ),
        (
            r"Order (?P<id>{N})'s PIX expired: the order is being cancelled",
            "O PIX do pedido {id} expirou: o pedido está sendo cancelado",
        ),
        (
            r"Order (?P<id>{N}) changed while it was being paid \(it is (?P<order_status>\w+), "
            r"(?P<total>{N})\): pay it again",
            "O pedido {id} mudou enquanto era pago (está {order_status}, {total}): pague de novo",
        ),
        (
            r"Payment (?P<id>{N}) is (?P<payment_status>\w+): only a succeeded one refunds",
            "O pagamento {id} está {payment_status}: só um pagamento concluído pode ser estornado",
        ),
        (
            r"An earlier refund of (?P<amount>{N}), which the provider had not answered, was "
            r"made first; nothing more was refunded: ask again for more",
            "Um estorno anterior de {amount}, que o provedor não tinha respondido, foi feito "
            "antes; nada mais foi estornado: peça de novo para estornar mais",
        ),
        (
            r"Payment (?P<id>{N}) is not flagged for review",
            "O pagamento {id} não está marcado para revisão",
        ),
        (
            r"Payment (?P<id>{N})'s review reason changed: read it again",
            "O motivo da revisão do pagamento {id} mudou: leia-o de novo",
        ),
        # payments' own words for a refund made and failed at once, else the provider's own after
        # the colon, as it gave them
        (
            r"The payment provider refused the refund: The refund "
            r"(?P<refund_status>failed|canceled) at the provider: nothing was returned",
            "O provedor de pagamento recusou o estorno: o estorno {refund_status} no provedor: "
            "nada foi devolvido",
        ),
        (
            r"The payment provider refused the refund: (?P<words>.+)",
            "O provedor de pagamento recusou o estorno: {words}",
        ),
        # a payment's review_reason (not a detail: shown beside a payment flagged needs_review)
        (
            r"The refund (?P<ref>\S+) of (?P<amount>{N}) (?P<refund_status>failed|canceled) at "
            r"the provider \(no reason given\): the money was not returned to the customer; "
            r"refund it again or settle it with them",
            "O estorno {ref} de {amount} {refund_status} no provedor (sem motivo informado): o "
            "dinheiro não voltou ao cliente; estorne de novo ou acerte com ele",
        ),
        (
            r"The refund (?P<ref>\S+) of (?P<amount>{N}) (?P<refund_status>failed|canceled) at "
            r"the provider \((?P<code>\w+)\): the money was not returned to the customer; "
            r"refund it again or settle it with them",
            "O estorno {ref} de {amount} {refund_status} no provedor ({code}): o dinheiro não "
            "voltou ao cliente; estorne de novo ou acerte com ele",
        ),
        (
            r"The provider no longer knows refund (?P<ref>\S+) of (?P<amount>{N}): see in its "
            r"dashboard whether the money went back to the customer \(it is still counted as "
            r"refunded\)",
            "O provedor não conhece mais o estorno {ref} de {amount}: veja no painel dele se o "
            "dinheiro voltou ao cliente (continua contado no valor estornado)",
        ),
        (
            r"The provider no longer knows PaymentIntent (?P<ref>\S+): see in its dashboard "
            r"whether it was paid",
            "O provedor não conhece mais o PaymentIntent {ref}: veja no painel dele se foi pago",
        ),
        (
            r"Sent to the provider after (?P<sent>\S+) and never answered; not asked again, as "
            r"the provider may have forgotten its idempotency key: see at the provider whether a "
            r"PaymentIntent with metadata payment_id (?P<id>{N}) was made, and paid",
            "Enviado ao provedor depois de {sent} e nunca respondido; não foi perguntado de novo, "
            "pois o provedor pode ter esquecido a chave de idempotência: veja no provedor se um "
            "PaymentIntent com metadata payment_id {id} foi criado, e pago",
        ),
        (
            r"The provider reports (?P<received>.+) centavos received; the payment is "
            r"(?P<cents>{N}): the order was not marked paid",
            "O provedor informa {received} centavos recebidos; o pagamento é de {cents} "
            "centavos: o pedido não foi marcado como pago",
        ),
        (
            r"A refund of (?P<amount>{N}) asked at (?P<asked>\S+) was never answered: see the "
            r"provider's refunds of this payment",
            "Um estorno de {amount} pedido em {asked} nunca foi respondido: veja os estornos "
            "deste pagamento no provedor",
        ),
        # why it was let go, then why the provider refused its refund: payments' own words (a
        # refund made and failed at once), or the provider's as it gave them, perhaps cut short
        (
            r"(?P<reason>.+?); the refund was refused: The refund "
            r"(?P<refund_status>failed|canceled) at the provider: nothing was returned",
            "{reason}; o estorno foi recusado: o estorno {refund_status} no provedor: nada foi "
            "devolvido",
        ),
        (
            r"(?P<reason>.+?); the refund was refused: (?P<words>.+)",
            "{reason}; o estorno foi recusado: {words}",
        ),
    )
]


# The console's one word for each status, lowercase as a sentence says it (pages.py labels a
# page's cells and filters with the same words).
ORDER_STATUSES = {
    "pending": "pendente",
    "paid": "pago",
    "shipped": "enviado",
    "delivered": "entregue",
    "cancelled": "cancelado",
    "reserving": "em reserva",
    "abandoned": "abandonado",
}
NOTIFICATION_STATUSES = {
    "queued": "na fila",
    "sent": "enviada",
    "delivered": "entregue",
    "read": "lida",
    "failed": "com falha",
}
PAYMENT_STATUSES = {
    "requires_action": "aguardando o pagador",
    "processing": "em processamento",
    "succeeded": "aprovado",
    "failed": "recusado",
    "canceled": "cancelado",
    "refunded": "estornado",
    "partially_refunded": "estornado em parte",
}
PAYMENT_METHODS = {"card": "cartão", "pix": "PIX"}
# Why the provider refused a card (a payment's failure_code: Stripe's decline_code, else its
# code), as staff read it; a code not here shows the provider's own words.
DECLINES = {
    "generic_decline": "recusado pelo banco",
    "card_declined": "recusado pelo banco",
    "do_not_honor": "recusado pelo banco",
    "insufficient_funds": "saldo ou limite insuficiente",
    "expired_card": "cartão vencido",
    "incorrect_cvc": "código de segurança incorreto",
    "incorrect_number": "número do cartão incorreto",
    "invalid_number": "número do cartão incorreto",
    "processing_error": "erro ao processar o cartão",
    "lost_card": "cartão perdido",
    "stolen_card": "cartão roubado",
    "pickup_card": "cartão retido pelo banco",
    "fraudulent": "suspeita de fraude",
    "card_velocity_exceeded": "limite de uso do cartão atingido",
    "authentication_required": "o banco pediu a confirmação da compra",
}
# Stripe's own words for those codes, for a payment that failed before payments kept the code.
DECLINED_WORDS = {
    "Your card was declined.": "generic_decline",
    "Your card has insufficient funds.": "insufficient_funds",
    "Your card has expired.": "expired_card",
    "Your card's security code is incorrect.": "incorrect_cvc",
    "Your card number is incorrect.": "incorrect_number",
    "An error occurred while processing your card. Try again in a little bit.": "processing_error",
}
# What each message a notification carries tells the client (its template's name).
NOTIFICATION_TEMPLATES = {
    "order_paid": "pedido pago",
    "order_shipped": "pedido enviado",
    "order_delivered": "pedido entregue",
    "order_cancelled": "pedido cancelado",
    "payment_failed": "pagamento recusado",
}
RUN_STATUSES = {
    "queued": "na fila",
    "running": "em andamento",
    "succeeded": "concluída",
    "partial": "parcial",
    "failed": "com falha",
    "cancelled": "cancelada",
}
# What the services write themselves as a note: in an order's history (orders' payments.py and
# known.py, for payments and clients) and in a stock movement (inventory's stock.py and
# reservations.py). Only a note a service wrote is said so (`note_in_portuguese`); one a person
# typed is shown as typed.
NOTES = {
    "PIX expired": "PIX expirado",
    "client deleted": "cliente excluído",
    "initial stock": "estoque inicial",
    "product deleted": "produto excluído",
}
NOTE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"payment (?P<id>\d+)"), "pagamento {id}"),
    (re.compile(r"order (?P<id>\d+)"), "pedido {id}"),
]
# What a pattern's named part is said as: a status by the word for its thing, a service and a
# role by their Portuguese names; any other part as given.
LABELS: dict[str, dict[str, str]] = {
    "order_status": ORDER_STATUSES,
    "target": ORDER_STATUSES,
    "reservation_status": {
        "reserved": "reservada",
        "committed": "baixada",
        "released": "liberada",
    },
    "payment_status": {
        "requires_action": "aguardando ação",
        "processing": "em processamento",
        "succeeded": "concluído",
        "failed": "recusado",
        "canceled": "cancelado",
        "refunded": "estornado",
        "partially_refunded": "estornado em parte",
    },
    "notification_status": NOTIFICATION_STATUSES,
    "run_status": RUN_STATUSES,
    "refund_status": {"failed": "falhou", "canceled": "foi cancelado"},
    "service": {
        "auth": "autenticação",
        "clients": "clientes",
        "products": "produtos",
        "inventory": "estoque",
        "orders": "pedidos",
        "payments": "pagamentos",
        "notifications": "notificações",
        "collector": "coleta",
    },
    "role": {"admin": "administrador", "user": "usuário"},
}
# Parts that are the API's words themselves (what could not be done, why): said in Portuguese, or
# the whole text is not known here (never half translated); a number among them stays as given.
SAID_TOO = {"action", "reason"}
# Parts that are bounds or counts, written as Brazilians write numbers (ids are kept as given).
BOUNDS = {"min", "max", "n", "requested", "available"}
# Parts that list such words or names, each said as its part: (separator, part, joined by).
LISTS = {"reasons": ("; ", "reason", "; "), "roles": (" or ", "role", " ou ")}
_NUMBER = re.compile(_N)
# The sentences of a detail that joins several ("Client 7 does not exist. Product 9 does not…").
_SENTENCES = re.compile(r"(?<=\.) (?=\S)")


def in_portuguese(text: str) -> str:
    """`text` as the console says it; the API's own words when it is not known here."""
    said = _said(text)
    return text if said is None else said


def _said(text: str) -> str | None:
    known = EXACT.get(text)
    if known is not None:
        return known
    for pattern, portuguese in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            values = {name: _part(name, value) for name, value in found.groupdict().items()}
            if None not in values.values():
                return portuguese.format(**values)
    sentences = _SENTENCES.split(text)
    if len(sentences) > 1:
        said = [_said(sentence) for sentence in sentences]
        if None not in said:
            return " ".join(said)
    return None


def _part(name: str, value: str) -> str | None:
    if name == "amount":
        return brl(value)
    if name in BOUNDS:
        return number(value)
    if name in LABELS:
        return LABELS[name].get(value, value)
    if name in LISTS:
        separator, part, joined_by = LISTS[name]
        items = [_part(part, each) for each in value.split(separator)]
        return None if None in items else joined_by.join(items)
    if name in SAID_TOO and not _NUMBER.fullmatch(value):
        return _said(value)
    return value


def offered(text: str, names: Iterable[str]) -> str:
    """A select's message (`text`, as `in_portuguese` said it) for a value the API refused, one not
    among its choices (OneOf) or a flag neither true nor false, said with the `names` the select
    offers rather than the API's codes ("receipt, adjustment, return, damage"); any other message
    as it is."""
    if text == EXACT["Not a valid boolean."] or _ONE_OF.fullmatch(text):
        return ONE_OF.format(choices=", ".join(names))
    return text


def note_in_portuguese(text: str) -> str:
    """A note a service wrote (NOTES, NOTE_PATTERNS) as the pages say it; one not known here as
    the service wrote it."""
    known = NOTES.get(text)
    if known is not None:
        return known
    for pattern, portuguese in NOTE_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return portuguese.format(**found.groupdict())
    return text
