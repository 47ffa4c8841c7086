"""Typed errors of the customer accounts, each with a French message a page may show as it is."""

from http import HTTPStatus

from ocpizzapp.exceptions import BusinessError


class AccountError(BusinessError):
    code = "account_error"


class EmailAlreadyUsed(AccountError):
    code = "email_in_use"
    status = HTTPStatus.CONFLICT
    default_message = (
        "Un compte existe déjà avec cette adresse e-mail : connectez-vous, ou réinitialisez votre mot de passe."
    )


class StaffAccountNotErasable(AccountError):
    code = "staff_account_not_erasable"
    status = HTTPStatus.CONFLICT
    default_message = (
        "Un compte de l'équipe ne s'efface pas depuis l'espace client : demandez-le au responsable des comptes."
    )
