'use strict'
// smtpdsn's server benchmark (bench/server.py): the recipient rule of the load.
// unknown@... is refused with haraka-dsn's no_such_user() (550 5.1.1 No such user), as
// smtpdsn serve's default rules and the plain aiosmtpd handler do; every other recipient is
// accepted.
const DSN = require('haraka-dsn')

// Neither smtpdsn serve nor aiosmtpd looks the client's address up in the DNS; Haraka does
// by default, so the lookup is answered here without a query.
exports.hook_lookup_rdns = function (next) {
    next(OK, 'localhost')
}

exports.hook_rcpt = function (next, connection, params) {
    const rcpt = params[0]
    if (rcpt.user && rcpt.user.toLowerCase() === 'unknown') {
        return next(DENY, DSN.no_such_user())
    }
    next(OK)
}
