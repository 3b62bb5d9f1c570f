'use strict'
// smtpdsn's server benchmark (bench/server.py): store each message in a Maildir the way
// smtpdsn serve does before its 250: written to tmp/, fsynced, renamed into new/, and new/
// fsynced. The Maildir is the BENCH_MAILDIR environment variable.
const fs = require('node:fs')
const fsp = require('node:fs/promises')
const os = require('node:os')
const path = require('node:path')

const host = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072')
let counter = 0

exports.register = function () {
    this.maildir = process.env.BENCH_MAILDIR
    for (const sub of ['tmp', 'new', 'cur']) {
        fs.mkdirSync(path.join(this.maildir, sub), { recursive: true })
    }
}

async function store (maildir, data) {
    const now = Date.now()
    counter += 1
    const name = `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${counter}.${host}`
    const tmp = path.join(maildir, 'tmp', name)
    const file = await fsp.open(tmp, 'wx', 0o600)
    try {
        await file.writeFile(data)
        await file.sync()
    } finally {
        await file.close()
    }
    const newDir = path.join(maildir, 'new')
    await fsp.rename(tmp, path.join(newDir, name))
    const dir = await fsp.open(newDir, 'r')
    try {
        await dir.sync()
    } finally {
        await dir.close()
    }
}

exports.hook_queue = function (next, connection) {
    const plugin = this
    connection.transaction.message_stream.get_data((data) => {
        store(plugin.maildir, data).then(
            () => next(OK),
            (err) => {
                connection.logerror(plugin, `cannot store the message: ${err.message}`)
                next(DENYSOFT, 'Cannot store the message')
            },
        )
    })
}
