*** Settings ***
Documentation       Product pictures, through the gateway, as API.md specifies them under "Products
...                 and categories": uploaded by the admin as multipart `file` (JPEG, PNG or WebP,
...                 size-limited), judged by their content, served publicly at /media/. Every test
...                 draws its own pictures (Pillow) for its own product; its teardown has the admin
...                 delete the product, and its pictures with it.
Resource            ../resources/images.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           products    images


*** Test Cases ***
Scenario: the admin uploads a PNG picture, served publicly with its thumbnail
    [Tags]    smoke
    Given a product
    When I upload a PNG picture of the product
    Then the answer is 201
    And the answer is the new PNG picture of the product
    And the picture and its thumbnail are served to anyone as PNG, to be kept for a year
    And the product lists the picture

Scenario: the admin uploads a JPEG picture
    Given a product
    When I upload a JPEG picture of the product
    Then the answer is 201
    And the answer is the new JPEG picture of the product
    And the picture and its thumbnail are served to anyone as JPEG, to be kept for a year

Scenario: the same file uploaded again is answered 200 with its picture, not stored twice
    Given a product
    And the product has a picture
    When I upload the same file again as a picture of the product
    Then the answer is 200
    And the answer is the product's picture
    And the product lists 1 pictures

Scenario: a text file named like a picture is refused for its content
    Given a product
    When I upload a text file named "foto.jpg" as a picture of the product
    Then the answer is 422 naming "file"
    And the product has no picture

Scenario: a body that is not multipart is a 400 problem and stores no picture
    Given a product
    When I send a JSON body as a picture of the product
    Then the answer is a 400 problem
    And the product has no picture

Scenario: a picture larger than the limit is refused
    Given a product
    When I upload a file a mebibyte larger than the limit as a picture of the product
    Then the answer is a 413 problem
    And the product has no picture

Scenario: a product holds at most IMAGE_MAX_PER_PRODUCT pictures
    Given a product
    And the product has as many pictures as it may hold
    When I upload a PNG picture of the product
    Then the answer is a 409 problem
    And the product lists ${IMAGE_MAX_PER_PRODUCT} pictures

Scenario: a user may not upload a picture
    Given a product
    And a signed-in user
    When I upload a PNG picture of the product
    Then the answer is a 403 problem
    And the product has no picture

Scenario: a picture cannot be added to an unknown product
    Given a product that has been deleted
    When I upload a PNG picture of the product
    Then the answer is a 404 problem

Scenario: the admin removes a picture, and its files are no longer served
    Given a product
    And the product has a picture
    When I remove the picture
    Then the answer is 204
    And the picture and its thumbnail are no longer served

Scenario: a picture cannot be removed through another product
    Given a product
    And the product has a picture
    And another product
    When I remove the picture through the other product
    Then the answer is a 404 problem
    And the product lists the picture
    And the picture is still served
