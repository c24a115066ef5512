package remotetest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the sample corpus of `mailfs demo` and of tests that want
// realistic mail: Seed fills a server with a few dozen hand-written messages
// covering the MIME shapes and header encodings a mail filesystem meets, and
// SampleMessage generates any number of plain messages for benchmarks.
// Everything is deterministic: the same bytes, flags and INTERNALDATEs on
// every run, dated relative to a fixed base date rather than time.Now.

// SeedFolders returns the mailboxes Seed leaves on the server, parents
// before children, with '/' as the hierarchy delimiter. "Work" has no
// messages of its own.
func SeedFolders() []string {
	return []string{"INBOX", "Archive", "Archive/2024", "Archive/2025", "보관함", "Work", "Work/Projects"}
}

// SeedBase returns the fixed "now" of the sample corpus, 2026-11-20 09:15
// UTC: every seeded message is dated before it. It is also the Date of
// SampleMessage(0).
func SeedBase() time.Time { return time.Date(2026, time.November, 20, 9, 15, 0, 0, time.UTC) }

// sample is one seeded message.
type sample struct {
	mailbox string
	flags   []string
	// date is the INTERNALDATE, in the zone the server reports it in. The
	// Date header, where the text has a {{DATE}} placeholder, is two
	// minutes earlier in the same zone (the time the sender hit send).
	date time.Time
	// text is the message with LF line ends; Seed sends it with CRLF.
	text string
}

// raw returns the message as sent: CRLF line ends, the date filled in.
func (m sample) raw() []byte {
	s := strings.ReplaceAll(m.text, "{{DATE}}", m.date.Add(-2*time.Minute).Format(time.RFC1123Z))
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// Seed creates the folders of SeedFolders (INBOX already exists) on a fresh
// server and appends the sample corpus: 15 messages in INBOX and a few in
// each other folder but Work. It covers plain ASCII, 8-bit UTF-8,
// quoted-printable, multipart/alternative, attachments (PNG, CSV), RFC 2047
// subjects and senders in UTF-8 and ISO-8859-1, a long folded subject, an
// empty subject, '/' and emoji in a subject, a reply thread, and \Seen and
// \Flagged flags. INTERNALDATEs are fixed, before SeedBase, in several zones
// (+0900, -0500, +0100, UTC); in each folder UIDs follow the dates.
func Seed(s *IMAP) error {
	for _, name := range SeedFolders() {
		if name == "INBOX" {
			continue
		}
		if err := s.CreateMailbox(name); err != nil {
			return fmt.Errorf("seed: create mailbox %s: %w", name, err)
		}
	}
	msgs := samples()
	slices.SortStableFunc(msgs, func(a, b sample) int { return a.date.Compare(b.date) })
	for _, m := range msgs {
		if _, err := s.Append(m.mailbox, m.raw(), m.flags, m.date); err != nil {
			return fmt.Errorf("seed: message dated %s: %w", m.date.Format(time.RFC3339), err)
		}
	}
	return nil
}

// samples returns the hand-written corpus, in no particular order.
func samples() []sample {
	kst := time.FixedZone("KST", 9*60*60)
	est := time.FixedZone("EST", -5*60*60)
	cet := time.FixedZone("CET", 60*60)
	// ago is a clock time in zone, days before SeedBase.
	ago := func(days, hour, minute int, zone *time.Location) time.Time {
		y, mo, d := SeedBase().AddDate(0, 0, -days).Date()
		return time.Date(y, mo, d, hour, minute, 0, 0, zone)
	}
	seen, flagged := []string{`\Seen`}, []string{`\Flagged`}
	seenFlagged := []string{`\Seen`, `\Flagged`}
	answered := []string{`\Seen`, `\Answered`}

	return []sample{
		// ---- INBOX: 15 messages over the last two weeks.
		{"INBOX", seen, ago(13, 8, 42, time.UTC), `From: Carol Jensen <carol@example.com>
To: Alice Martin <alice@example.org>
Subject: Quarterly report
Date: {{DATE}}
Message-ID: <20261107.quarterly.carol@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi Alice,

the Q3 numbers are final. Revenue is up 4.2% on the quarter, costs are
flat, and the support backlog is down to 37 tickets.

The full report is on the shared drive under Finance/Reports/2026-Q3.
Let me know if you want me to walk the board through it on Monday.

Best,
Carol
`},
		{"INBOX", answered, ago(12, 11, 5, cet), `From: Bob Chen <bob@example.com>
To: Alice Martin <alice@example.org>, Carol Jensen <carol@example.com>
Subject: Lunch on Thursday?
Date: {{DATE}}
Message-ID: <lunch-1.bob@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi both,

the new ramen place on Harbour Street opened this week. Thursday at
12:30? I can book a table for three.

Bob
`},
		{"INBOX", seen, ago(12, 11, 48, cet), `From: Alice Martin <alice@example.org>
To: Bob Chen <bob@example.com>
Cc: Carol Jensen <carol@example.com>
Subject: Re: Lunch on Thursday?
Date: {{DATE}}
Message-ID: <lunch-2.alice@example.org>
In-Reply-To: <lunch-1.bob@example.com>
References: <lunch-1.bob@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Count me in. 12:30 works.

Alice

Bob Chen wrote:
> Hi both,
>
> the new ramen place on Harbour Street opened this week. Thursday at
> 12:30? I can book a table for three.
`},
		{"INBOX", nil, ago(12, 9, 3, est), `From: Carol Jensen <carol@example.com>
To: Bob Chen <bob@example.com>
Cc: Alice Martin <alice@example.org>
Subject: Re: Lunch on Thursday?
Date: {{DATE}}
Message-ID: <lunch-3.carol@example.com>
In-Reply-To: <lunch-2.alice@example.org>
References: <lunch-1.bob@example.com> <lunch-2.alice@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Sorry, I'm in New York until Friday. Have one for me!

Carol

> Count me in. 12:30 works.
>
> Alice
`},
		{"INBOX", seen, ago(11, 18, 20, cet), `From: Jonas Weber <jonas.weber@example.org>
To: Alice Martin <alice@example.org>
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=
Date: {{DATE}}
Message-ID: <koeln.jonas@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Alice,

viele Grüße aus Köln! Die Konferenz war großartig, das Essen weniger.
Nächste Woche bin ich wieder im Büro; dann erzähle ich mehr über die
Vorträge zu Dateisystemen.

Ça va ? — Jonas

P.S. 東京の写真はまだ送っていません。すみません！
`},
		{"INBOX", nil, ago(10, 7, 55, cet), `From: =?ISO-8859-1?Q?Fran=E7oise_Lef=E8vre?= <francoise.lefevre@example.org>
To: equipe@example.org
Subject: =?ISO-8859-1?Q?R=E9union_de_l'=E9quipe_=E0_14h?=
Date: {{DATE}}
Message-ID: <reunion.francoise@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Bonjour =C3=A0 tous,

Le menu du caf=C3=A9 pour vendredi midi : cr=C3=AApes au sarrasin, salade n=
i=C3=A7oise, et en dessert une cr=C3=A8me br=C3=BBl=C3=A9e maison. Les r=C3=
=A9servations se font =C3=A0 l'accueil avant jeudi 17h.

Prix : 12,50 =E2=82=AC (formule =3D plat + dessert).

Bon app=C3=A9tit !
Fran=C3=A7oise
`},
		{"INBOX", nil, ago(9, 10, 30, kst), `From: =?UTF-8?B?6rmA66+87KSA?= <minjun.kim@example.com>
To: Alice Martin <alice@example.org>
Subject: =?UTF-8?B?7ZqM7J2YIOydvOyglSDslYjrgrQgKDEx7JuUIDI07J28KQ==?=
Date: {{DATE}}
Message-ID: <meeting-1124.minjun@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

7JWI64WV7ZWY7IS47JqULCBBbGljZeuLmC4NCg0KMTHsm5QgMjTsnbwg7Jik7KCEIDEw7Iuc7JeQ
IO2ajOydmOqwgCDsnojsirXri4jri6QuIOyepeyGjOuKlCAz7Li1IO2ajOydmOyLpOyeheuLiOuL
pC4NCg0K6rCQ7IKs7ZWp64uI64ukLg0K6rmA66+87KSAIOuTnOumvA0K
`},
		{"INBOX", seen, ago(8, 16, 12, time.UTC), `From: Newsletter <news@example.com>
To: alice@example.org
Subject: November updates: faster sync, new themes
Date: {{DATE}}
Message-ID: <nl-2026-11.news@example.com>
List-Id: Example News <news.example.com>
List-Unsubscribe: <mailto:unsubscribe@example.com?subject=unsubscribe>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-7d1c0b"

This is a multi-part message in MIME format.

--alt-7d1c0b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

November updates

* Sync is now up to three times faster on large folders.
* Two new themes: Harbour and Meadow.
* The mobile app remembers where you left off.

Read more: https://www.example.com/news/2026-11

--alt-7d1c0b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html><body>
<h1>November updates</h1>
<ul>
<li>Sync is now up to <b>three times faster</b> on large folders.</li>
<li>Two new themes: <i>Harbour</i> and <i>Meadow</i>.</li>
<li>The mobile app remembers where you left off.</li>
</ul>
<p><a href="https://www.example.com/news/2026-11">Read more</a></p>
</body></html>

--alt-7d1c0b--
`},
		{"INBOX", seenFlagged, ago(7, 14, 0, cet), `From: Dana Okafor <dana@example.org>
To: Alice Martin <alice@example.org>
Subject: Logo draft and expenses
Date: {{DATE}}
Message-ID: <logo-expenses.dana@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix-42a9"

--mix-42a9
Content-Type: text/plain; charset=us-ascii

Hi Alice,

attached are the first logo draft (tiny preview, the real file is on
the drive) and my October expenses as CSV.

Dana

--mix-42a9
Content-Type: image/png; name="logo-preview.png"
Content-Disposition: attachment; filename="logo-preview.png"
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUeZvX///87z5hOAAAAFklE
QVR4nGL48AGB+PkRCIc4IAAA///THw/x8qE2hQAAAABJRU5ErkJggg==

--mix-42a9
Content-Type: text/csv; charset=utf-8; name="expenses-2026-10.csv"
Content-Disposition: attachment; filename="expenses-2026-10.csv"
Content-Transfer-Encoding: base64

ZGF0ZSxjYXRlZ29yeSxhbW91bnQsY3VycmVuY3kNCjIwMjYtMTAtMDMsdHJhaW4sNDIuNTAsRVVS
DQoyMDI2LTEwLTA5LGhvdGVsLDE4OS4wMCxFVVINCjIwMjYtMTAtMTQsbWVhbHMsMzEuODAsRVVS
DQoyMDI2LTEwLTIyLHRheGksMTkuNDAsRVVSDQo=

--mix-42a9--
`},
		{"INBOX", nil, ago(6, 20, 45, est), `From: Erik Larsen <erik@example.com>
To: Alice Martin <alice@example.org>, Bob Chen <bob@example.com>
Subject: Follow-up on the infrastructure migration plan, the budget review and
 next quarter's hiring timeline for the platform team
Date: {{DATE}}
Message-ID: <migration-followup.erik@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Alice, Bob,

three things from today's call, so they don't get lost:

1. The database moves to the new cluster on the 28th; the old one stays
   read-only for a week.
2. The budget review is pushed to December 3rd.
3. We can open two positions in Q1, not three.

Erik
`},
		{"INBOX", seen, ago(5, 6, 10, time.UTC), `From: Build Bot <ci@example.com>
To: dev@example.org
Subject: =?UTF-8?B?QnVpbGQgMjAyNi8xMSBwYXNzZWQg4pyFIGRlcGxveSB0byBzdGFnaW5nL3By?=
 =?UTF-8?B?b2Qg8J+agA==?=
Date: {{DATE}}
Message-ID: <build-2026-11-4711.ci@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Pipeline #4711 on main: all 1284 tests passed in 6m12s.
Deployed to staging; production rollout starts at 10:00 UTC.
`},
		{"INBOX", nil, ago(4, 13, 37, cet), `From: Bob Chen <bob@example.com>
To: Alice Martin <alice@example.org>
Subject:
Date: {{DATE}}
Message-ID: <no-subject.bob@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Forgot the subject again. The slides are in the usual place.
`},
		{"INBOX", flagged, ago(3, 9, 0, time.UTC), `From: Billing <billing@example.com>
To: Alice Martin <alice@example.org>
Subject: Invoice #4711 due on November 30
Date: {{DATE}}
Message-ID: <invoice-4711.billing@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Dear Alice Martin,

invoice #4711 over EUR 240.00 for the annual plan is due on
November 30, 2026. You can pay by bank transfer to the account
on the invoice; please quote the invoice number.

Thank you,
Example Billing
`},
		{"INBOX", nil, ago(1, 17, 25, kst), `From: =?UTF-8?B?7J207ISc7Jew?= <seoyeon.lee@example.com>
To: Alice Martin <alice@example.org>
Subject: Re: =?UTF-8?B?6rKs7KCBIOyalOyyrQ==?=
Date: {{DATE}}
Message-ID: <quote-2.seoyeon@example.com>
In-Reply-To: <quote-1.alice@example.org>
References: <quote-1.alice@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Alice님, 안녕하세요.

요청하신 견적서를 보내드립니다. 수량 200개 기준으로 단가는
3,400원이며, 납기는 주문 후 2주입니다.

감사합니다.
이서연 드림
`},
		{"INBOX", nil, ago(0, 8, 5, time.UTC), `From: Alice Martin <alice@example.org>
To: Alice Martin <alice@example.org>
Subject: Note to self: renew passport
Date: {{DATE}}
Message-ID: <note-passport.alice@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Appointment at the town hall, Tuesday 10:40. Bring two photos and the
old passport.
`},

		// ---- Archive: older mail of this year.
		{"Archive", seen, ago(61, 15, 30, cet), `From: Carol Jensen <carol@example.com>
To: Alice Martin <alice@example.org>
Subject: Offsite venue booked
Date: {{DATE}}
Message-ID: <offsite-venue.carol@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The lake house is booked for October 14-16. Rooms for twelve, a
meeting room with a projector, and a boat if the weather holds.
`},
		{"Archive", seen, ago(48, 9, 12, est), `From: Erik Larsen <erik@example.com>
To: Alice Martin <alice@example.org>
Subject: Re: Offsite venue booked
Date: {{DATE}}
Message-ID: <offsite-venue-2.erik@example.com>
In-Reply-To: <offsite-venue.carol@example.com>
References: <offsite-venue.carol@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I'll bring the board games. Somebody else brings the coffee.
`},
		{"Archive", seenFlagged, ago(33, 11, 0, time.UTC), `From: Travel Desk <travel@example.com>
To: Alice Martin <alice@example.org>
Subject: Your booking ABC123: Copenhagen, 2-4 October
Date: {{DATE}}
Message-ID: <booking-abc123.travel@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b2-alt"

--b2-alt
Content-Type: text/plain; charset=us-ascii

Booking ABC123 confirmed.
Outbound: 2 October, 07:10. Return: 4 October, 19:45.

--b2-alt
Content-Type: text/html; charset=us-ascii

<p>Booking <b>ABC123</b> confirmed.</p>
<p>Outbound: 2 October, 07:10. Return: 4 October, 19:45.</p>

--b2-alt--
`},

		// ---- Archive/2024
		{"Archive/2024", seen, time.Date(2024, time.March, 4, 10, 15, 0, 0, cet), `From: Bob Chen <bob@example.com>
To: Alice Martin <alice@example.org>
Subject: Welcome to the team!
Date: {{DATE}}
Message-ID: <welcome-2024.bob@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Welcome aboard, Alice! Your laptop is on your desk and the wiki
password is in your inbox. Coffee is on the third floor.
`},
		{"Archive/2024", seen, time.Date(2024, time.July, 19, 16, 40, 0, 0, est), `From: Erik Larsen <erik@example.com>
To: team@example.org
Subject: Summer party photos
Date: {{DATE}}
Message-ID: <summer-2024.erik@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Photos from the summer party are up on the share. Please tell me
if you want any of yours taken down.
`},
		{"Archive/2024", seenFlagged, time.Date(2024, time.December, 23, 22, 5, 0, 0, kst), `From: =?UTF-8?B?67CV7KeA7ZuI?= <jihoon.park@example.com>
To: Alice Martin <alice@example.org>
Subject: Season's greetings
Date: {{DATE}}
Message-ID: <greetings-2024.jihoon@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Dear Alice,

happy holidays and a good start into the new year!
메리 크리스마스, 새해 복 많이 받으세요.

Jihoon
`},

		// ---- Archive/2025
		{"Archive/2025", seen, time.Date(2025, time.February, 11, 9, 30, 0, 0, time.UTC), `From: Carol Jensen <carol@example.com>
To: Alice Martin <alice@example.org>
Subject: Annual review scheduled
Date: {{DATE}}
Message-ID: <review-2025.carol@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your annual review is on February 20 at 14:00 in room 3.12.
`},
		{"Archive/2025", seen, time.Date(2025, time.June, 2, 7, 45, 0, 0, cet), `From: Dana Okafor <dana@example.org>
To: Alice Martin <alice@example.org>
Subject: Conference talk accepted
Date: {{DATE}}
Message-ID: <talk-2025.dana@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Great news: our talk "Files all the way down =E2=80=93 mail as a file=
system" was accepted. The slot is 25 minutes plus questions.
`},
		{"Archive/2025", seen, time.Date(2025, time.December, 30, 18, 0, 0, 0, kst), `From: =?UTF-8?B?6rmA66+87KSA?= <minjun.kim@example.com>
To: Alice Martin <alice@example.org>
Subject: =?UTF-8?B?MjAyNeuFhCDsl7Drp5Ag7KCV7IKwIOyekOujjA==?=
Date: {{DATE}}
Message-ID: <tax-2025.minjun@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

연말 정산 자료를 첨부 없이 본문으로 정리했습니다.
- 의료비: 1,240,000원
- 교육비: 860,000원
`},

		// ---- 보관함 (Korean: "archive box")
		{"보관함", seen, ago(40, 14, 20, kst), `From: =?UTF-8?B?7J207ISc7Jew?= <seoyeon.lee@example.com>
To: Alice Martin <alice@example.org>
Subject: =?UTF-8?B?6rOE7JW97IScIOyCrOuzuCDsoITri6zrk5zrpr3ri4jri6Q=?=
Date: {{DATE}}
Message-ID: <contract-copy.seoyeon@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

계약서 사본을 전달드립니다. 원본은 우편으로 발송했습니다.
`},
		{"보관함", seenFlagged, ago(25, 21, 3, kst), `From: =?UTF-8?B?67CV7KeA7ZuI?= <jihoon.park@example.com>
To: Alice Martin <alice@example.org>
Subject: =?UTF-8?B?7KCc7KO864+EIOyXrO2WiSDsgqzsp4Qg8J+OiQ==?=
Date: {{DATE}}
Message-ID: <jeju-photos.jihoon@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="jeju-1"

--jeju-1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

제주도 여행 사진 한 장 보내요. 나머지는 공유 폴더에 있어요.

--jeju-1
Content-Type: image/png
Content-Disposition: attachment; filename*=UTF-8''%EC%A0%9C%EC%A3%BC.png
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUeZvX///87z5hOAAAAFklE
QVR4nGL48AGB+PkRCIc4IAAA///THw/x8qE2hQAAAABJRU5ErkJggg==

--jeju-1--
`},
		{"보관함", nil, ago(2, 12, 0, kst), `From: Alice Martin <alice@example.org>
To: =?UTF-8?B?7J207ISc7Jew?= <seoyeon.lee@example.com>
Subject: =?UTF-8?B?6rKs7KCBIOyalOyyrQ==?=
Date: {{DATE}}
Message-ID: <quote-1.alice@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

안녕하세요, 200개 기준 견적을 부탁드립니다.
Alice
`},

		// ---- Work/Projects
		{"Work/Projects", seen, ago(20, 9, 0, cet), `From: Dana Okafor <dana@example.org>
To: Alice Martin <alice@example.org>
Subject: [mailfs] Kickoff notes
Date: {{DATE}}
Message-ID: <mailfs-kickoff.dana@example.org>
List-Id: Project mailfs <mailfs.projects.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Goals: folders as directories, messages as .eml files, sending with cp.
Non-goals: a new mail client.
Next meeting: in two weeks.
`},
		{"Work/Projects", nil, ago(15, 15, 15, est), `From: Erik Larsen <erik@example.com>
To: Alice Martin <alice@example.org>
Subject: [mailfs] Milestones (CSV attached)
Date: {{DATE}}
Message-ID: <mailfs-milestones.erik@example.com>
List-Id: Project mailfs <mailfs.projects.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_ms_01"

--=_ms_01
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Milestones as discussed, see the attachment.

--=_ms_01
Content-Type: text/csv; name="milestones.csv"
Content-Disposition: attachment; filename="milestones.csv"
Content-Transfer-Encoding: base64

bWlsZXN0b25lLGR1ZSxvd25lcg0KcmVhZC1vbmx5IG1vdW50LDIwMjYtMTItMDEsYWxpY2UNCmZs
YWdzIGFuZCBtb3ZlcywyMDI2LTEyLTE1LGJvYg0Kb3V0Ym94LDIwMjctMDEtMTAsZGFuYQ0K

--=_ms_01--
`},
		{"Work/Projects", flagged, ago(9, 19, 30, cet), `From: Bob Chen <bob@example.com>
To: Alice Martin <alice@example.org>
Subject: [mailfs] Review: cache eviction
Date: {{DATE}}
Message-ID: <mailfs-review-cache.bob@example.com>
List-Id: Project mailfs <mailfs.projects.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Looks good overall. Two questions:

- What happens when a body is evicted while a reader has it open?
- Should max_size count the metadata database too?
`},
		{"Work/Projects", seen, ago(9, 21, 2, cet), `From: Alice Martin <alice@example.org>
To: Bob Chen <bob@example.com>
Subject: Re: [mailfs] Review: cache eviction
Date: {{DATE}}
Message-ID: <mailfs-review-cache-2.alice@example.org>
In-Reply-To: <mailfs-review-cache.bob@example.com>
References: <mailfs-review-cache.bob@example.com>
List-Id: Project mailfs <mailfs.projects.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

> What happens when a body is evicted while a reader has it open?

The open file keeps the data; eviction only unlinks it.

> Should max_size count the metadata database too?

No, only bodies. I'll say so in the README.
`},
	}
}

// SampleMessage returns generated message number i (i >= 0): plain text,
// 2 to 4 KB, with a subject, sender, recipient and date that vary with i.
// The same i always gives the same bytes. Its Date is i*37 minutes before
// SeedBase. Meant for benchmarks and tests that need many messages.
func SampleMessage(i int) []byte {
	n := uint(i)
	people := []string{
		"Alice Martin <alice@example.org>",
		"Bob Chen <bob@example.com>",
		"Carol Jensen <carol@example.com>",
		"Dana Okafor <dana@example.org>",
		"Erik Larsen <erik@example.com>",
		"Fatima Rahman <fatima@example.org>",
		"Gustavo Silva <gustavo@example.com>",
	}
	topics := []string{
		"Quarterly report", "Release planning", "Server maintenance window",
		"Team offsite", "Budget review", "Customer feedback", "Hiring update",
		"Security audit findings", "Design review", "Invoice", "Travel booking",
		"Weekly sync notes", "Database migration", "On-call handover",
	}
	prefixes := []string{"", "", "Re: ", "", "Fwd: ", "", "Re: Re: "}
	paragraphs := []string{
		"Thanks for sending this over so quickly. I went through the numbers this morning and most of them line up with what we saw last month; the two outliers are the support costs and the cloud bill, which both jumped after the migration.",
		"Could you add a short summary at the top? Most people will only read the first paragraph, so the decision we need from them should be there, together with the date by which we need it.",
		"The maintenance window is Saturday from 22:00 to 02:00 UTC. During that time the web interface is read-only and mail delivery may be delayed by up to an hour; nothing will be lost.",
		"I talked to the vendor again. They can deliver the remaining units in two batches, the first one next week and the second at the end of the month, at the price we agreed on in the spring.",
		"For the record, here is what we decided in the meeting: we keep the current release schedule, we move the documentation work into the next sprint, and we revisit the hiring plan in January.",
		"Please double-check the attached figures before Friday. If something looks off, reply to this thread rather than starting a new one, so that everybody can follow the discussion.",
		"The audit found no critical issues. There are three medium findings about password rotation and log retention, which the platform team will address before the end of the quarter.",
		"Travel is booked: the train leaves at 07:12 and arrives just before ten, which leaves enough time to get to the office. The hotel is a ten-minute walk from the station.",
		"Customer feedback this week was mostly positive. Two people asked for a dark theme, one reported that search is slow on very large folders, and one simply wrote to say thank you.",
		"I will be out of office from Wednesday to Friday with limited access to mail. For anything urgent please call the team line; otherwise I will catch up on Monday.",
	}
	from := people[n%uint(len(people))]
	to := people[(n+1+n/uint(len(people)))%uint(len(people))]
	if to == from {
		to = people[(n+2)%uint(len(people))]
	}
	subject := fmt.Sprintf("%s%s #%d", prefixes[n%uint(len(prefixes))], topics[(n*5+n/3)%uint(len(topics))], i)
	date := SeedBase().Add(-time.Duration(i) * 37 * time.Minute)

	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	line("From: " + from)
	line("To: " + to)
	line("Subject: " + subject)
	line("Date: " + date.Format(time.RFC1123Z))
	line(fmt.Sprintf("Message-ID: <sample.%d@example.org>", i))
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=us-ascii")
	line("Content-Transfer-Encoding: 7bit")
	line("")
	line("Hi " + strings.Fields(to)[0] + ",")
	line("")
	// Between 2100 and 3700 bytes before the last paragraph; paragraphs are
	// under 300 bytes, so the message ends between 2 and 4 KB.
	target := 2100 + int(n*389%1600)
	for p := uint(0); b.Len() < target; p++ {
		for _, l := range wrap(paragraphs[(n*3+p*7)%uint(len(paragraphs))], 72) {
			line(l)
		}
		line("")
	}
	line("Best regards,")
	line(strings.Fields(from)[0])
	return []byte(b.String())
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && len(cur)+1+len(w) > width {
			lines = append(lines, cur)
			cur = ""
		}
		cur = strings.TrimPrefix(cur+" "+w, " ")
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
