package config

// designExample is the full example of DESIGN.md, section Configuration,
// with password = "..." replaced by a recognisable secret.
const designExample = `filenames = "descriptive"          # or "uid": plain UID.eml names

[cache]
dir = "/home/me/.cache/mailfs"     # optional
max_size = "2GiB"                  # IMAP bodies beyond this are evicted, least recently read first

[[accounts]]
name = "work"                      # the directory under the mount
addresses = ["me@work.example"]    # From: addresses routed to this account; the first fills a missing From:
default = true                     # takes outbox mail whose From: matches no account

  [accounts.imap]                  # an account has [accounts.imap] or [accounts.pop3], not both
  host = "imap.work.example"
  port = 993                       # default from tls: 993 implicit, 143 otherwise
  tls = "implicit"                 # implicit | starttls | none (none only for a loopback host)
  tls_ca_file = ""                 # optional PEM bundle, for a private CA
  username = "me"
  password_command = "pass show mail/work"   # or password = "..."
  auth = "plain"                   # plain | login | xoauth2 | oauthbearer (then token_command)
  token_command = ""
  idle_folders = ["INBOX"]         # folders watched with IDLE; others are polled
  poll_interval = "60s"
  max_connections = 4
  delete = "trash"                 # trash | expunge
  trash_folder = ""                # default: the special-use \Trash folder
  sent_folder = ""                 # default: the special-use \Sent folder; "-" disables the Sent copy

  [accounts.smtp]
  host = "smtp.work.example"
  port = 587                       # default from tls: 465 implicit, 587 otherwise
  tls = "starttls"
  username = "me"
  password_command = "pass show mail/work"

[[accounts]]
name = "old-isp"
addresses = ["me@old-isp.example"]

  [accounts.pop3]
  host = "pop.old-isp.example"
  port = 995                       # default from tls: 995 implicit, 110 otherwise
  tls = "implicit"
  username = "me"
  password = "hunter2-very-secret"
  leave_on_server = true           # false: DELE after the message is safely stored
  poll_interval = "5m"
`

// examplePassword is the password in designExample.
const examplePassword = "hunter2-very-secret"

// minimal is the smallest valid config.
const minimal = `
[[accounts]]
name = "a"
  [accounts.imap]
  host = "imap.example.com"
  username = "me"
  password = "pw"
`
