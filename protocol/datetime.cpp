#include "protocol/datetime.h"

#include <array>

namespace imap {

namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr std::int64_t kSecondsPerDay = 86400;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_leap_year(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap_year(year)) return 29;
    return kDays[static_cast<std::size_t>(month - 1)];
}

// Reads exactly `n` digits at `pos`.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t n) {
    if (text.size() - pos < n) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_digit(text[pos + i])) return std::nullopt;
        value = value * 10 + (text[pos + i] - '0');
    }
    pos += n;
    return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

// RFC 3501 9 date-month; case is ignored (RFC 3501 9 note on keywords).
std::optional<int> read_month(std::string_view text, std::size_t& pos) {
    if (text.size() - pos < 3) return std::nullopt;
    for (std::size_t m = 0; m < kMonthNames.size(); ++m) {
        bool match = true;
        for (std::size_t i = 0; i < 3; ++i) {
            if (ascii_lower(text[pos + i]) != ascii_lower(kMonthNames[m][i])) match = false;
        }
        if (match) {
            pos += 3;
            return static_cast<int>(m) + 1;
        }
    }
    return std::nullopt;
}

// "-" date-month "-" date-year, after the day; checks the day against the
// month because the grammar alone admits 31-Feb.
std::optional<Date> read_month_year(std::string_view text, std::size_t& pos, int day) {
    if (!expect(text, pos, '-')) return std::nullopt;
    auto month = read_month(text, pos);
    if (!month) return std::nullopt;
    if (!expect(text, pos, '-')) return std::nullopt;
    auto year = read_digits(text, pos, 4);  // date-year = 4DIGIT
    if (!year) return std::nullopt;
    if (day < 1 || day > days_in_month(*year, *month)) return std::nullopt;
    return Date{*year, *month, day};
}

// Days since 1970-01-01 in the proleptic Gregorian calendar. Counts in
// 400-year eras (146097 days each) starting on 1 March, so the leap day is
// the last day of its "year" and needs no special case.
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;                                    // [0, 399]
    const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
    return era * 146097 + doe - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

Date civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t doe = days - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;  // month from March = 0
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    return Date{static_cast<int>(year), month, day};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

void append_padded(std::string& out, int value, int width, char pad) {
    std::string digits = std::to_string(value);
    for (int i = static_cast<int>(digits.size()); i < width; ++i)
        out += pad;
    out += digits;
}

void append_month_year(std::string& out, const Date& date) {
    out += '-';
    // Dates from parse_date() and from_unix() always have a valid month; a
    // hand-built bad one must not index past the table.
    out += (date.month >= 1 && date.month <= 12)
               ? kMonthNames[static_cast<std::size_t>(date.month - 1)]
               : std::string_view("???");
    out += '-';
    append_padded(out, date.year, 4, '0');
}

}  // namespace

std::int64_t DateTime::to_unix() const {
    // A leap second (second == 60) lands on the next minute's :00, the usual
    // POSIX reading; the zone is subtracted to reach UT (RFC 3501 9: zone).
    return days_from_civil(date.year, date.month, date.day) * kSecondsPerDay +
           std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second -
           std::int64_t{zone_minutes} * 60;
}

DateTime DateTime::from_unix(std::int64_t unix_seconds, int zone_minutes) {
    // Split into days and in-day seconds before applying the zone: adding
    // the zone to unix_seconds, or multiplying days back by 86400, could
    // overflow near the int64 limits.
    std::int64_t days = unix_seconds / kSecondsPerDay;
    std::int64_t secs = unix_seconds % kSecondsPerDay;
    if (secs < 0) {
        secs += kSecondsPerDay;
        --days;
    }
    secs += std::int64_t{zone_minutes} * 60;
    const std::int64_t carry = floor_div(secs, kSecondsPerDay);
    days += carry;
    secs -= carry * kSecondsPerDay;
    DateTime dt;
    dt.date = civil_from_days(days);
    dt.hour = static_cast<int>(secs / 3600);
    dt.minute = static_cast<int>(secs / 60 % 60);
    dt.second = static_cast<int>(secs % 60);
    dt.zone_minutes = zone_minutes;
    return dt;
}

std::optional<Date> parse_date(std::string_view text) {
    // RFC 3501 9: date-day = 1*2DIGIT, so "01" and "1" are both fine.
    std::size_t pos = 0;
    int day = 0;
    std::size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos]) && digits < 2) {
        day = day * 10 + (text[pos] - '0');
        ++pos;
        ++digits;
    }
    if (digits == 0) return std::nullopt;
    auto date = read_month_year(text, pos, day);
    if (!date || pos != text.size()) return std::nullopt;
    return date;
}

std::optional<DateTime> parse_date_time(std::string_view text) {
    std::size_t pos = 0;
    int day = 0;
    // RFC 3501 9: date-day-fixed = (SP DIGIT) / 2DIGIT; a bare DIGIT is the
    // leniency the header documents.
    if (expect(text, pos, ' ')) {
        auto d = read_digits(text, pos, 1);
        if (!d) return std::nullopt;
        day = *d;
    } else if (auto d2 = read_digits(text, pos, 2)) {
        day = *d2;
    } else if (auto d1 = read_digits(text, pos, 1)) {
        day = *d1;
    } else {
        return std::nullopt;
    }
    auto date = read_month_year(text, pos, day);
    if (!date) return std::nullopt;

    // SP time: 2DIGIT ":" 2DIGIT ":" 2DIGIT.
    if (!expect(text, pos, ' ')) return std::nullopt;
    auto hour = read_digits(text, pos, 2);
    if (!hour || !expect(text, pos, ':')) return std::nullopt;
    auto minute = read_digits(text, pos, 2);
    if (!minute || !expect(text, pos, ':')) return std::nullopt;
    auto second = read_digits(text, pos, 2);
    if (!second) return std::nullopt;
    if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;

    // SP zone: ("+" / "-") 4DIGIT, hhmm east of Greenwich.
    if (!expect(text, pos, ' ')) return std::nullopt;
    if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    auto zone_hours = read_digits(text, pos, 2);
    if (!zone_hours) return std::nullopt;
    auto zone_mins = read_digits(text, pos, 2);
    if (!zone_mins || *zone_mins > 59) return std::nullopt;
    if (pos != text.size()) return std::nullopt;

    DateTime dt;
    dt.date = *date;
    dt.hour = *hour;
    dt.minute = *minute;
    dt.second = *second;
    dt.zone_minutes = sign * (*zone_hours * 60 + *zone_mins);
    return dt;
}

std::string format_date(const Date& date) {
    std::string out;
    append_padded(out, date.day, 1, '0');
    append_month_year(out, date);
    return out;
}

std::string format_date_time(const DateTime& dt) {
    std::string out;
    append_padded(out, dt.date.day, 2, ' ');
    append_month_year(out, dt.date);
    out += ' ';
    append_padded(out, dt.hour, 2, '0');
    out += ':';
    append_padded(out, dt.minute, 2, '0');
    out += ':';
    append_padded(out, dt.second, 2, '0');
    out += ' ';
    // "-0000" and "+0000" both parse to 0; UT is written "+0000" (RFC 3501 9).
    const int zone = dt.zone_minutes;
    out += zone < 0 ? '-' : '+';
    const int magnitude = zone < 0 ? -zone : zone;
    append_padded(out, magnitude / 60, 2, '0');
    append_padded(out, magnitude % 60, 2, '0');
    return out;
}

}  // namespace imap
