// Dates and date-times as IMAP writes them (RFC 3501 9: date, date-time).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imap {

// date-text = date-day "-" date-month "-" date-year, e.g. 1-Feb-1994.
struct Date {
    int year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31, checked against the month and leap years

    auto operator<=>(const Date&) const = default;
};

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP
// zone DQUOTE, e.g. "17-Jul-1996 02:44:25 -0700".
struct DateTime {
    Date date;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int zone_minutes = 0;  // offset east of UTC: "-0700" is -420

    bool operator==(const DateTime&) const = default;

    // Seconds since the Unix epoch of this instant (the zone applied).
    std::int64_t to_unix() const;
    // The instant `unix_seconds` expressed in the zone `zone_minutes`.
    static DateTime from_unix(std::int64_t unix_seconds, int zone_minutes);
};

// Parses date-text (the caller strips optional DQUOTEs). The day has one or
// two digits; the month name is case-insensitive (RFC 3501 9 note: "Case is
// ignored" applies to all keywords; Dovecot accepts "feb" too); the year has
// four digits. Rejects impossible dates such as 30-Feb-2001.
std::optional<Date> parse_date(std::string_view text);

// Parses the inside of a date-time's DQUOTEs. date-day-fixed is (SP DIGIT) /
// 2DIGIT; a single digit without the leading space is also accepted (some
// clients send it; Dovecot accepts it). time is 2DIGIT ":" 2DIGIT ":" 2DIGIT
// with hour <= 23, minute <= 59, second <= 60 (a leap second); zone is
// ("+" / "-") 4DIGIT with minutes <= 59.
std::optional<DateTime> parse_date_time(std::string_view text);

// "1-Feb-1994" (no padding, as the grammar's date-day allows).
std::string format_date(const Date& date);

// "17-Jul-1996 02:44:25 -0700", without the DQUOTEs; the day is space-padded
// to two characters (date-day-fixed), as RFC 3501 2.3.3 examples show.
std::string format_date_time(const DateTime& date_time);

}  // namespace imap
