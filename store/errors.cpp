#include "store/errors.h"

namespace imap::store {

const char* to_string(StoreErrc code) {
    switch (code) {
        case StoreErrc::NotFound:
            return "not found";
        case StoreErrc::AlreadyExists:
            return "already exists";
        case StoreErrc::HasChildren:
            return "has children";
        case StoreErrc::NoSelect:
            return "not selectable";
        case StoreErrc::InvalidName:
            return "invalid name";
        case StoreErrc::NotPermitted:
            return "not permitted";
        case StoreErrc::OverLimit:
            return "over limit";
        case StoreErrc::TooBig:
            return "too big";
        case StoreErrc::Corrupt:
            return "corrupt";
        case StoreErrc::Expunged:
            return "expunged";
        case StoreErrc::Busy:
            return "busy";
    }
    return "unknown";
}

}  // namespace imap::store
