*** Settings ***
Documentation       Products, through the gateway, as API.md specifies them under "Products and
...                 categories" and "Who may do what": the admin writes the catalogue, everyone signed
...                 in reads it. Every test makes its own category and products (Faker pt_BR data and
...                 EAN-13s, unique per run) and its teardown has the admin delete them.
Resource            ../resources/catalogue.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           products


*** Test Cases ***
# --- creating ------------------------------------------------------------------------------

Scenario: the admin creates a product, its price a decimal string and no stock until inventory says
    [Tags]    smoke
    Given a signed-in admin
    When I create a product with the price "199.9" and an initial stock of 25
    Then the answer is 201
    And the answer is the new product as sent
    And the answer has a Location header for the new product

Scenario: a price sent as a JSON number is answered as a decimal string
    Given a signed-in admin
    When I create a product with the price 49.5 as a JSON number
    Then the answer is 201
    And the answer is the new product as sent

Scenario: a barcode whose check digit is wrong is refused
    Given a signed-in admin
    When I create a product whose barcode has a wrong check digit
    Then the answer is 422 naming "barcode"

Scenario: a barcode is used only once
    Given a product
    When I create a product with the product's barcode
    Then the answer is 409 naming "barcode"

Scenario: a name is used only once
    Given a product
    When I create a product with the product's name
    Then the answer is 409 naming "name"

Scenario: a price of zero is refused
    Given a signed-in admin
    When I create a product with the price "0"
    Then the answer is 422 naming "price"

Scenario: a negative price is refused
    Given a signed-in admin
    When I create a product with the price -5.00 as a JSON number
    Then the answer is 422 naming "price"

Scenario: a category that does not exist is refused
    Given a category that has been deleted
    When I create a product in the category
    Then the answer is 422 naming "category_id"

Scenario: a user may not create a product
    Given a signed-in user
    When I create a product
    Then the answer is a 403 problem

# --- reading and revalidating ----------------------------------------------------------------

Scenario: a product is read by its id
    [Tags]    smoke
    Given a product
    When I read the product
    Then the answer is 200
    And the answer is the product
    And the answer may be kept only by the caller, who must revalidate it

Scenario: a user may read a product
    Given a product
    And a signed-in user
    When I read the product
    Then the answer is 200
    And the answer is the product

Scenario: asking whether an existing product exists is a 200
    Given a product
    When I ask whether the product exists
    Then the answer is 200
    And the answer has no body

Scenario: asking whether an unknown product exists is a 404
    Given a product that has been deleted
    When I ask whether the product exists
    Then the answer is 404

Scenario: asking whether a product exists carries the headers of its read, ETag included
    Given a product
    And I have read the product
    When I ask whether the product exists
    Then the answer is 200
    And the answer has the ETag I have
    And the answer may be kept only by the caller, who must revalidate it
    When I ask whether the product exists with the ETag I have
    Then the answer is 304
    And the answer has no body

Scenario: an unknown product is a 404
    Given a product that has been deleted
    When I read the product
    Then the answer is a 404 problem

Scenario: an unchanged product is not sent again to a caller holding its ETag
    Given a product
    And I have read the product
    When I read the product again with the ETag I have
    Then the answer is 304
    And the answer has no body

Scenario: a changed product is sent again despite the old ETag
    Given a product
    And I have read the product
    And the product's price has changed
    When I read the product again with the ETag I have
    Then the answer is 200
    And the answer has an ETag other than the one I have

# --- finding -------------------------------------------------------------------------------

Scenario: products are listed a page at a time
    [Tags]    smoke
    Given a product
    When I list the products
    Then the answer is 200
    And the answer is a page of products

Scenario: a search finds a product by the stem of a word of its name
    Given a product named "Teclados mecânicos"
    And a product named "Mouse óptico"
    When I search the category for "teclado"
    Then the answer is 200
    And the page holds only the product named "Teclados mecânicos"

Scenario: products are filtered by category
    Given a product named "Cadeira"
    And another category with a product named "Mesa"
    When I list the category's products
    Then the answer is 200
    And the page holds only the product named "Cadeira"

Scenario: products are filtered by a price range
    Given a product named "Caneta" priced at 10.00
    And a product named "Caderno" priced at 20.00
    And a product named "Mochila" priced at 30.00
    When I list the category's products priced from 15 to 25
    Then the answer is 200
    And the page holds only the product named "Caderno"

Scenario: retired products are found with active=false only
    Given a product named "Lanterna"
    And a retired product named "Lampião"
    When I list the category's products that are retired
    Then the answer is 200
    And the page holds only the product named "Lampião"

Scenario: products without stock are found with available=false, not with available=true
    Given a product named "Guarda-chuva"
    When I list the category's products without stock
    Then the answer is 200
    And the page holds only the product named "Guarda-chuva"
    When I list the category's products with stock
    Then the answer is 200
    And the page holds no product

Scenario: products are sorted by price
    Given a product named "Médio" priced at 20.00
    And a product named "Caro" priced at 30.00
    And a product named "Barato" priced at 10.00
    When I list the category's products sorted by "price"
    Then the answer is 200
    And the page holds, in order, the products named    Barato    Médio    Caro

Scenario: products are sorted by price, dearest first
    Given a product named "Médio" priced at 20.00
    And a product named "Barato" priced at 10.00
    And a product named "Caro" priced at 30.00
    When I list the category's products sorted by "-price"
    Then the answer is 200
    And the page holds, in order, the products named    Caro    Médio    Barato

Scenario: products are sorted by name
    Given a product named "Uva"
    And a product named "Abacaxi"
    And a product named "Mamão"
    When I list the category's products sorted by "name"
    Then the answer is 200
    And the page holds, in order, the products named    Abacaxi    Mamão    Uva

Scenario: a later page holds the products after the earlier ones
    Given a product named "Uva"
    And a product named "Abacaxi"
    And a product named "Mamão"
    When I list the category's products 1 per page, page 2, by name
    Then the answer is page 2 of the list, 1 per page
    And the page holds the product named "Mamão" of 3

Scenario: an unchanged list page is not sent again to a caller holding its ETag
    Given a product
    And I have listed the category's products
    When I list the category's products again with the ETag I have
    Then the answer is 304
    And the answer has no body

Scenario: an unknown sort field is refused
    Given a signed-in admin
    When I list products with "sort=barcode"
    Then the answer is 422 naming "sort"

# --- changing, retiring and deleting -----------------------------------------------------------

Scenario: the admin replaces a product with PUT
    Given a product
    When I replace the product with new details
    Then the answer is 200
    And the answer is the product with the new details
    And the product is stored with the new details

Scenario: a product cannot be replaced with another product's name
    Given a product
    And another product
    When I replace the product with new details but the other product's name
    Then the answer is 409 naming "name"
    And the product still exists

Scenario: a product cannot be replaced with another product's barcode
    Given a product
    And another product
    When I replace the product with new details but the other product's barcode
    Then the answer is 409 naming "barcode"
    And the product still exists

Scenario: a product cannot take another product's barcode
    Given a product
    And another product
    When I give the product the other product's barcode
    Then the answer is 409 naming "barcode"
    And the product still exists

Scenario: a product cannot take another product's name
    Given a product
    And another product
    When I give the product the other product's name
    Then the answer is 409 naming "name"
    And the product still exists

Scenario: the admin changes a product's price with PATCH
    Given a product
    When I change the product's price to "12.34"
    Then the answer is 200
    And the answer is the product with the new details
    And the product is stored with the new details

Scenario: the admin retires a product with active=false, and it can still be read
    Given a product
    When I retire the product
    Then the answer is 200
    And the answer is the product with the new details
    And the product is stored with the new details

Scenario: a user may not change a product
    Given a product
    And a signed-in user
    When I change the product's price to "1.00"
    Then the answer is a 403 problem
    And the product still exists

Scenario: changing an unknown product is a 404
    Given a product that has been deleted
    When I change the product's price to "1.00"
    Then the answer is a 404 problem

Scenario: the admin deletes a product
    [Tags]    smoke
    Given a product
    When I delete the product
    Then the answer is 204
    And the product no longer exists

Scenario: a user may not delete a product
    Given a product
    And a signed-in user
    When I delete the product
    Then the answer is a 403 problem
    And the product still exists

Scenario: deleting an unknown product is a 404
    Given a product that has been deleted
    When I delete the product
    Then the answer is a 404 problem

# --- importing -----------------------------------------------------------------------------

Scenario: an import creates, updates by barcode and rejects rows each on its own
    Given a product named "Teclado"
    When I import a new product, a new price for the product and a row with a wrong check digit
    Then the answer is 200
    And the import created 1, updated 1 and rejected row 2 naming "barcode"
    And the product has the imported price
    And the category holds, by name, only the products named    Importado    Teclado

Scenario: an import that is not a list of products is refused
    Given a signed-in admin
    When I import a single product that is not in a list
    Then the answer is 422 naming "_body"
    And the category holds, by name, only the products named

Scenario: an import of more rows than allowed is refused as a whole
    Given a signed-in admin
    When I import one row more than an import may hold
    Then the answer is 422 naming "_body"
    And the problem gives the import's row limit
    And the category holds, by name, only the products named

Scenario: a user may not import products
    Given a product named "Teclado"
    And a signed-in user
    When I import a new product, a new price for the product and a row with a wrong check digit
    Then the answer is a 403 problem
    And the product still exists
